/**
 * The crypto floor of a TLS handshake on this CPU: what the public-key operations alone cost,
 * timed in-process with node:crypto (the same OpenSSL). A full TLS 1.3 handshake with a
 * certificate costs the server one signature (CertificateVerify) and one key exchange
 * (keygen + derive); the client one key exchange and two verifications (the certificate's own
 * signature and CertificateVerify). Resumption skips the signature and verifications, not the
 * key exchange (psk_dhe_ke). What a handshake costs above this floor is Node, OpenSSL's state
 * machine, the records, the syscalls.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import type { CertPair } from './tls-certs.js';
import type { TlsCryptoFloor } from './types.js';

/**
 * Microseconds of this process's CPU per call of `fn`, the best of three rounds of `n`. CPU
 * time, not the clock: the handshakes it is compared with are CPU time too, and on a busy
 * machine the clock counts the time other programs had the core (under a load of 12 a floor
 * of 1,798 us by the clock stood beside handshakes of 1,367 us of CPU).
 */
function timeUs(n: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const used = process.cpuUsage(t0);
    best = Math.min(best, (used.user + used.system) / n);
  }
  return Math.round(best);
}

/** The floor for this certificate's key on this CPU (about a second at most). */
export function measureCryptoFloor(pair: CertPair): TlsCryptoFloor {
  const key = createPrivateKey(pair.keyPem);
  const pub = createPublicKey(key);
  const data = Buffer.alloc(64, 1);
  const rsa = key.asymmetricKeyType === 'rsa';
  const opts = rsa ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING, as TLS 1.3 signs */ } : key;
  const vopts = rsa ? { key: pub, padding: 6 } : pub;
  const signature = sign('sha256', data, opts);
  const n = rsa ? 50 : 200;
  const signUs = timeUs(n, () => sign('sha256', data, opts));
  const verifyUs = timeUs(n, () => verify('sha256', data, vopts, signature));
  const peer = generateKeyPairSync('x25519');
  const keyExchangeUs = timeUs(200, () => {
    const mine = generateKeyPairSync('x25519');
    diffieHellman({ privateKey: mine.privateKey, publicKey: peer.publicKey });
  });
  return {
    signUs,
    verifyUs,
    keyExchangeUs,
    serverUs: signUs + keyExchangeUs,
    clientUs: 2 * verifyUs + keyExchangeUs,
    // filled in by the caller, from the handshakes measured
    serverTimes: 0,
    clientTimes: 0,
  };
}

/**
 * Certificates for `max --tls`: a throwaway one made offline by the system `openssl` binary in a
 * private temporary directory (removed before this returns: only the PEM text is kept), or the
 * user's PEM file holding a certificate and its key, checked before any worker starts.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FourtupleError, UsageError } from '../errors.js';

export type CertKind = 'ecdsa' | 'rsa2048';

/** A certificate and its private key, as PEM text. */
export interface CertPair {
  /** ecdsa, rsa2048, or the file it was read from */
  source: string;
  /** the key's algorithm and size in words: "ECDSA P-256", "RSA 2048" */
  key: string;
  certPem: string;
  keyPem: string;
}

const NEW_KEY: Record<CertKind, string[]> = {
  ecdsa: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
  rsa2048: ['-newkey', 'rsa:2048'],
};

/**
 * A self-signed certificate for 127.0.0.1, ::1 and localhost, valid one day. The directory is
 * 0700 (mkdtemp) and removed whatever happens.
 */
export function makeThrowawayCert(kind: CertKind): CertPair {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          ...NEW_KEY[kind],
          '-nodes',
          '-keyout',
          keyFile,
          '-out',
          certFile,
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      const why =
        e.code === 'ENOENT'
          ? 'the openssl binary is not installed (apt-get install openssl), or pass --cert FILE'
          : (e.stderr?.toString().trim().split('\n')[0] ?? e.message);
      throw new FourtupleError('FOURTUPLE_TLS_CERT', `cannot make a ${kind} certificate: ${why}`, {
        cause: err,
      });
    }
    return checkPair(kind, readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'), '--cert');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** --cert FILE: one PEM file with the certificate and its (unencrypted) private key. */
export function readCertFile(file: string): CertPair {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`--cert ${file}: cannot read it (${code})`, 'cert');
  }
  const cert = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
  const key = text.match(
    /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/,
  );
  if (!cert || !key) {
    throw new UsageError(
      `--cert ${file}: expected a PEM file with a CERTIFICATE and a PRIVATE KEY block (found ${cert ? 'no key' : 'no certificate'})`,
      'cert',
    );
  }
  return checkPair(file, `${cert[0]}\n`, `${key[0]}\n`, `--cert ${file}`);
}

/** Parses both halves and checks that the key is the certificate's. */
function checkPair(source: string, certPem: string, keyPem: string, what: string): CertPair {
  let x509: X509Certificate;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    x509 = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new UsageError(`${what}: malformed PEM (${(err as Error).message})`, 'cert');
  }
  if (!x509.checkPrivateKey(key)) {
    throw new UsageError(`${what}: the private key does not match the certificate`, 'cert');
  }
  const d = key.asymmetricKeyDetails;
  const words =
    key.asymmetricKeyType === 'ec'
      ? `ECDSA ${d?.namedCurve === 'prime256v1' ? 'P-256' : (d?.namedCurve ?? '')}`
      : `${(key.asymmetricKeyType ?? 'key').toUpperCase()} ${d?.modulusLength ?? ''}`;
  return { source, key: words.trim(), certPem, keyPem };
}

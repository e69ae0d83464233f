/** `fourtuple errno NAME|NUMBER`: what an errno means for a TCP user. */
import { UsageError } from '../errors.js';
import { lookupErrno } from '../sockets/errno.js';
import { defineCommand } from './_command.js';
import { printJson } from './_output.js';

export const errnoCommand = defineCommand({
  name: 'errno',
  summary: 'what an errno name or number means (EADDRNOTAVAIL, 99, ...)',
  description: "Prints each errno's number, name and one line of meaning for a TCP user.",
  epilog: `Example:
  fourtuple errno EADDRNOTAVAIL 98`,
  args: { usage: 'NAME|NUMBER...', description: 'errno names (any case) or numbers' },
  options: {},
  async run({ values, positionals, io }) {
    if (positionals.length === 0) {
      throw new UsageError('give an errno name or number, e.g. `fourtuple errno EADDRINUSE`');
    }
    // every one is answered; the unknown ones as unknown (and the exit code says so)
    const infos = positionals.map((p) => lookupErrno(p));
    const unknown = positionals.filter((_, k) => !infos[k]!.known).map((p) => p.trim());
    if (values.json) printJson(io, infos.length === 1 ? infos[0] : infos);
    else {
      infos.forEach((i, k) => {
        const asked = positionals[k]!.trim();
        io.stdout.write(
          i.known ? `${i.name} (${i.number}): ${i.meaning}\n` : `${asked}: unknown errno\n`,
        );
      });
    }
    if (unknown.length > 0) {
      io.stderr.write(
        `fourtuple errno: unknown: ${unknown.join(', ')} (give a name like EADDRINUSE or a number like 98, as listed in errno(3))\n`,
      );
      return 2;
    }
    return 0;
  },
});

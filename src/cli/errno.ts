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
    const infos = positionals.map((p) => lookupErrno(p));
    const k = infos.findIndex((i) => !i.known);
    if (k >= 0) {
      const asked = positionals[k]!.trim();
      const what = /^\d+$/.test(asked) ? `errno number ${asked}` : `errno "${asked}"`;
      throw new UsageError(
        `unknown ${what} (give a name like EADDRINUSE or a number like 98, as listed in errno(3))`,
      );
    }
    if (values.json) printJson(io, infos.length === 1 ? infos[0] : infos);
    else for (const i of infos) io.stdout.write(`${i.name} (${i.number}): ${i.meaning}\n`);
    return 0;
  },
});

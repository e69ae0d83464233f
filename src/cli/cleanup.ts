/** `fourtuple cleanup`: removes every namespace, veth, bridge and record a run left behind. */
import { cleanupLabs } from '../hosts/index.js';
import { defineCommand } from './_command.js';
import { printJson } from './_output.js';
import { FORCE_OPTION, formatLeftAlone, formatRemoved } from './hosts.js';

export const cleanupCommand = defineCommand({
  name: 'cleanup',
  summary: 'remove every namespace, veth and bridge a crashed or finished run left behind',
  description: `Finds every network namespace, veth and bridge named ft-<run>-... (and fourtuple's records in
/run/fourtuple), from any run, including labs left by \`hosts up\` and by a process that was
killed, removes them, and lists what it removed. Labs whose creating process is still running
are left alone unless --all is given, and labs with processes inside their namespaces (a
listener started with \`ip netns exec\` or --host-ns) unless --force is. Needs root when there is
something to remove.`,
  options: {
    all: {
      type: 'boolean',
      field: 'includeInUse',
      description: 'also remove labs in use by a running fourtuple process',
    },
    ...FORCE_OPTION,
  },
  async run({ values, io }) {
    const r = await cleanupLabs({ includeInUse: values.all, force: values.force });
    if (values.json) {
      printJson(io, r);
      return 0;
    }
    if (r.removed.length > 0 || (r.inUse.length === 0 && r.occupied.length === 0)) {
      io.stdout.write(`${formatRemoved(r.removed)}\n`);
    }
    io.stdout.write(formatLeftAlone(r, '--all'));
    return 0;
  },
});

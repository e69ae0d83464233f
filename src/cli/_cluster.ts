/** Options `agent` and `k8s job` share: the same plan, stated once. */
import type { Spec } from './_spec.js';
import { TARGET_ACCEPTS, targetList } from './_targets.js';

export const CLUSTER_OPTIONS = {
  target: {
    type: 'custom',
    accepts: `1 to 64 comma-separated ${TARGET_ACCEPTS}`,
    placeholder: 'LIST',
    required: true,
    field: 'targets',
    description: 'the destinations every agent connects to',
    parse: targetList,
  },
  hold: {
    type: 'duration',
    minMs: 0,
    maxMs: 24 * 3_600_000,
    default: 30_000,
    field: 'holdMs',
    description: 'how long every agent holds its connections',
  },
} as const satisfies Spec;

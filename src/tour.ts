/**
 * The tour's result (`fourtuple` with no command, `fourtuple tour --json`): every part it ran on
 * one machine, each the result its own command returns, tagged `tour` like every other result.
 */
import type { DemoResult } from './experiments/index.js';
import type { LimitsResult } from './limits/index.js';
import type { ProveResult } from './proof/index.js';
import type { MachineInfo } from './report/machine.js';
import type { Tagged } from './result.js';
import type { MaxResult } from './scale/coordinator.js';
import type { InternetResult, TheoryResult } from './theory/index.js';

export interface TourResult extends Tagged<'tour'> {
  /** the machine it ran on */
  machine: MachineInfo;
  /** the seed's example (2 machines x 3 ports) and the whole IPv4 space */
  theory?: { seed: TheoryResult; ipv4: InternetResult };
  /** every demo experiment */
  experiments?: DemoResult;
  /** the proofs by construction, smallest first */
  proof?: ProveResult[];
  limits?: LimitsResult;
  max?: MaxResult;
}

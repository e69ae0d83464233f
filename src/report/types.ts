/**
 * What the report page reads: the library's own result types, either as a library function
 * returns them (BigInt fields as bigint) or as their `--json` output reads back (printJson in
 * src/cli/_output.ts writes every bigint as a decimal string). The report keeps no copy of any
 * result's shape: a field a result gains or loses is a compile error here.
 */
import type { MergedResult } from '../cluster/merge.js';
import type { DemoResult } from '../experiments/index.js';
import type { LimitsResult } from '../limits/index.js';
import type { ProveResult } from '../proof/index.js';
import type { MaxResult } from '../scale/coordinator.js';
import type { InternetResult, TheoryResult } from '../theory/index.js';
import type { TourResult } from '../tour.js';

import type { MachineInfo } from './machine.js';

export type { MachineInfo };

/** `T` as its `--json` output parses back: every bigint a decimal string. */
export type Saved<T> = T extends bigint
  ? string
  : T extends readonly (infer U)[]
    ? Saved<U>[]
    : T extends object
      ? { [K in keyof T]: Saved<T[K]> }
      : T;

/** `T` as the library returns it or as saved: every bigint also accepted as a decimal string. */
export type Wire<T> = T extends bigint
  ? bigint | string
  : T extends readonly (infer U)[]
    ? readonly Wire<U>[]
    : T extends object
      ? { readonly [K in keyof T]: Wire<T[K]> }
      : T;

/** A BigInt field, live or saved. */
export type Big = Wire<bigint>;

/** A count that may be a plain number, a bigint, or a decimal string. */
export type Count = number | Big;

/** A `theory` result, or an `internetTheory` one (which adds `family` and `scientific`). */
export type TheoryInput = Wire<TheoryResult> & Partial<Pick<Wire<InternetResult>, 'family'>>;
export type DemoInput = Wire<DemoResult>;
export type ExperimentInput = DemoInput['experiments'][number];
export type ProofInput = Wire<ProveResult>;
export type LimitsInput = Wire<LimitsResult>;
export type MaxInput = Wire<MaxResult>;
export type MaxSampleInput = MaxInput['series'][number];

/** Every result the report renders, by its kind. */
export interface ResultByKind {
  theory: TheoryResult;
  demo: DemoResult;
  prove: ProveResult;
  limits: LimitsResult;
  max: MaxResult;
  tour: TourResult;
  merge: MergedResult;
}

/** Any result, live or saved: what `fourtuple report` reads after checking its tag. */
export type AnyResult = { [K in keyof ResultByKind]: Wire<ResultByKind[K]> }[keyof ResultByKind];

/**
 * The page's parts, each rendered only when present: one command's result under its part
 * (`{ theory: r }`, `{ proof: r }`), or the several results the tour made.
 */
export interface ReportInput {
  theory?: TheoryInput | readonly TheoryInput[];
  experiments?: DemoInput;
  proof?: ProofInput | readonly ProofInput[];
  limits?: LimitsInput;
  max?: MaxInput;
  /** the tour's TLS runs (`max --tls` results, one per certificate kind) */
  tls?: readonly MaxInput[];
  /** the tour skipped its TLS part: why ("the openssl binary is not installed ...") */
  tlsSkipped?: string;
  /** a cluster run's merged result (`fourtuple agent` 0, `fourtuple merge`) */
  cluster?: Wire<MergedResult>;
  machine?: MachineInfo;
  /**
   * the run was cut short (interrupted, or its saved output ends mid-stream): what the page shows
   * is what completed, and this says why ("interrupted by SIGINT during max")
   */
  cutShort?: string;
}

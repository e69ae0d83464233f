/**
 * Every result object a command returns (and prints with --json) is tagged with its `kind` and
 * the `version` of its shape, so the report, `merge` and any other reader dispatch on the tag
 * instead of guessing from fields. Bump RESULT_VERSION when a result's shape changes in a way an
 * older reader would misread; readers refuse a newer version with a clear message.
 */

/** The shape version of every result this build writes. */
export const RESULT_VERSION = 1;

/** Every kind of result, one per command that produces one (the tour's combines the others). */
export const RESULT_KINDS = ['theory', 'demo', 'prove', 'limits', 'max', 'tour', 'merge'] as const;
export type ResultKind = (typeof RESULT_KINDS)[number];

/** The tag every result carries. */
export interface Tagged<K extends ResultKind> {
  kind: K;
  version: number;
}

/** The tag for a result of `kind`, to spread first into the object a library function returns. */
export function tag<K extends ResultKind>(kind: K): Tagged<K> {
  return { kind, version: RESULT_VERSION };
}

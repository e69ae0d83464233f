/**
 * One declarative spec per command: each option's type (with its range), default, short alias,
 * description and the library field it sets. The same spec drives parsing (`_parse.ts`),
 * validation (here) and `--help` (`_usage.ts`), so an option cannot work without being listed,
 * nor be listed with a range it does not enforce.
 */
import { UsageError } from '../errors.js';
import {
  type HostPort,
  parseBigIntFlag,
  parseDuration,
  parseHostPort,
  parseIp,
  parseSize,
  showBound,
} from './_args.js';

/** A bound that depends on other options (prove's --base-port on --ports): text for --help. */
export interface Bound {
  /** how --help states it: "65536 - --ports" */
  text: string;
  /** the bound, given the options declared before this one (already parsed) */
  of(values: Readonly<Record<string, unknown>>): number;
}

interface BaseOption {
  /** one line (wrapped in --help) saying what the option does, without its range or default */
  description: string;
  /** a one-letter alias: -n */
  short?: string;
  /** the library option it sets (basePort); default the flag in camelCase; false: CLI only */
  field?: string | false;
  /** the value's placeholder in --help: N, IP:PORT */
  placeholder?: string;
  /**
   * true: refused when missing; a string: when it is needed ("unless --internet"), which the
   * command enforces with `requireOption`
   */
  required?: boolean | string;
  /** the default as --help states it, when it is not a literal ("a free block found at run time") */
  defaultText?: string;
}

export interface BooleanOption extends BaseOption {
  type: 'boolean';
  /** accepts --no-NAME (turns off what is on by default) */
  negatable?: boolean;
  default?: boolean;
}
export interface IntOption extends BaseOption {
  type: 'int';
  min: number;
  max: number | Bound;
  /** also accepts the word auto */
  auto?: boolean;
  default?: number | 'auto';
}
export interface BigIntOption extends BaseOption {
  type: 'bigint';
  min: bigint;
  max: bigint;
  default?: bigint;
}
/** 500ms, 5s, 2m, 1h or a bare number of seconds; the value is in milliseconds */
export interface DurationOption extends BaseOption {
  type: 'duration';
  minMs: number;
  maxMs: number;
  default?: number;
}
/** 512M, 2G or a bare byte count; the value is in bytes */
export interface SizeOption extends BaseOption {
  type: 'size';
  min: number;
  max: number;
  default?: number;
}
export interface StringOption extends BaseOption {
  type: 'string';
  /** may be given more than once: the value is the list */
  multiple?: boolean;
  default?: string;
}
export interface ChoiceOption<T extends string = string> extends BaseOption {
  type: 'choice';
  choices: readonly T[];
  default?: T;
}
/** a literal IP:PORT or [IPv6]:PORT */
export interface HostPortOption extends BaseOption {
  type: 'hostport';
  /** accepts port 0 (a source address where the kernel picks the port) */
  allowZero?: boolean;
}
/** a literal IPv4 or IPv6 address */
export interface IpOption extends BaseOption {
  type: 'ip';
  default?: string;
}
/** anything else: the command's own parser, and what it accepts in words */
export interface CustomOption<T = unknown> extends BaseOption {
  type: 'custom';
  /** what is accepted, for --help and "is required (...)": "IP:PORT or NAME:PORT" */
  accepts: string;
  /** the value from the text; throws UsageError naming `--${flag}` */
  parse(text: string, flag: string): T;
}

export type OptionDef =
  | BooleanOption
  | IntOption
  | BigIntOption
  | DurationOption
  | SizeOption
  | StringOption
  | ChoiceOption
  | HostPortOption
  | IpOption
  | CustomOption;

/** A command's options, by long flag name (kebab-case), in the order --help lists them. */
export type Spec = Readonly<Record<string, OptionDef>>;

/** The parsed value of one option. */
export type ValueOf<O> = O extends BooleanOption
  ? boolean
  : O extends IntOption
    ? O extends { auto: true }
      ? number | 'auto'
      : number
    : O extends BigIntOption
      ? bigint
      : O extends DurationOption | SizeOption
        ? number
        : O extends ChoiceOption<infer T>
          ? T
          : O extends StringOption
            ? O extends { multiple: true }
              ? string[]
              : string
            : O extends HostPortOption
              ? HostPort
              : O extends IpOption
                ? string
                : O extends CustomOption<infer T>
                  ? T
                  : never;

/** Every option's value: always present when it has a default, is required, or is a boolean. */
export type Values<S extends Spec> = {
  -readonly [K in keyof S]: S[K] extends
    | { default: unknown }
    | { required: true }
    | { type: 'boolean' }
    ? ValueOf<S[K]>
    : ValueOf<S[K]> | undefined;
};

/** The library field an option sets: basePort for base-port, unless the spec says otherwise. */
export function fieldOf(flag: string, o: OptionDef): string | undefined {
  if (o.field === false) return undefined;
  return o.field ?? flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function maxOf(o: IntOption, values: Readonly<Record<string, unknown>>): number {
  return typeof o.max === 'number' ? o.max : o.max.of(values);
}

/** What an option accepts, in words: "an integer from 1 to 65535", for "is required (...)". */
export function accepts(o: OptionDef): string {
  switch (o.type) {
    case 'int': {
      const max = typeof o.max === 'number' ? String(o.max) : o.max.text;
      return `an integer from ${o.min} to ${max}${o.auto ? ', or auto' : ''}`;
    }
    case 'bigint':
      return `an integer from ${showBound(o.min)} to ${showBound(o.max)}`;
    case 'duration':
      return `a duration from ${showMs(o.minMs)} to ${showMs(o.maxMs)}`;
    case 'size':
      return `a size from ${showSize(o.min)} to ${showSize(o.max)}`;
    case 'choice':
      return `one of ${o.choices.join(', ')}`;
    case 'hostport':
      return `IP:PORT or [IPv6]:PORT, port ${o.allowZero ? 0 : 1} to 65535`;
    case 'ip':
      return 'an IPv4 or IPv6 address';
    case 'custom':
      return o.accepts;
    default:
      return 'a value';
  }
}

/** 500ms, 5s, 2m, 1h: the largest unit that divides it. */
export function showMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** 0, 512M, 1024G: the largest binary unit that divides it. */
export function showSize(bytes: number): string {
  for (const [unit, size] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** One option's value from its text, validated against its type and range. */
export function parseValue(
  flag: string,
  o: OptionDef,
  text: string,
  before: Readonly<Record<string, unknown>>,
): unknown {
  switch (o.type) {
    case 'int':
      if (o.auto && text === 'auto') return 'auto';
      return Number(
        parseBigIntFlag(flag, text, {
          min: BigInt(o.min),
          max: BigInt(maxOf(o, before)),
          ...(o.auto ? { or: 'auto' } : {}),
        }),
      );
    case 'bigint':
      return parseBigIntFlag(flag, text, o);
    case 'duration':
      return parseDuration(flag, text, o.minMs, o.maxMs);
    case 'size':
      return parseSize(flag, text, o.min, o.max);
    case 'choice':
      if (!o.choices.includes(text)) {
        throw new UsageError(
          `--${flag} must be one of ${o.choices.join(', ')} (got "${text}")`,
          flag,
        );
      }
      return text;
    case 'hostport':
      return parseHostPort(flag, text, o.allowZero);
    case 'ip':
      return parseIp(flag, text).host;
    case 'custom':
      return o.parse(text, flag);
    default:
      return text;
  }
}

/**
 * The options as given (text, a boolean, or a list for `multiple`), validated in the spec's
 * order, with defaults filled in and required options checked.
 */
export function resolveValues(
  spec: Spec,
  given: ReadonlyMap<string, string | boolean | string[]>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [flag, o] of Object.entries(spec)) {
    const raw = given.get(flag);
    if (raw === undefined) {
      if (o.required === true) {
        throw new UsageError(`--${flag} is required (${accepts(o)})`, flag);
      }
      if (o.type === 'boolean') values[flag] = o.default ?? false;
      else values[flag] = o.type === 'custom' || o.type === 'hostport' ? undefined : o.default;
    } else if (typeof raw === 'boolean' || Array.isArray(raw)) {
      values[flag] = raw;
    } else {
      values[flag] = parseValue(flag, o, raw, values);
    }
  }
  return values;
}

/** Refuses a missing option whose need depends on others (spec `required: 'unless ...'`). */
export function requireOption<V, K extends keyof V & string>(
  ctx: { values: V; spec: Spec },
  flag: K,
): NonNullable<V[K]> {
  const value = ctx.values[flag];
  if (value !== undefined && value !== null) return value;
  const o = ctx.spec[flag];
  throw new UsageError(`--${flag} is required${o ? ` (${accepts(o)})` : ''}`, flag);
}

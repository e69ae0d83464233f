/**
 * argv to options, strictly, on node:util parseArgs's tokens. parseArgs runs non-strict so that
 * it only splits argv (`--ports -3` keeps -3 as the value, and the flag's own range names it);
 * the strict rules are ours, decided from the tokens and the spec, never from a message:
 * unknown options, --no-NAME only for a negatable boolean, a boolean given both ways, a value
 * flag given twice, a missing value, a value given to a boolean, and stray arguments.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { OptionDef, Spec } from './_spec.js';

export type Given = Map<string, string | boolean | string[]>;

export interface ParsedArgv {
  /** every option the user gave, by long name: its text, a boolean, or a list (`multiple`) */
  given: Given;
  positionals: string[];
}

/** A value that looks like an option: a dash then a letter (a negative number is a value). */
function optionLike(value: string): boolean {
  return /^-[^\d.]/.test(value) && value !== '-';
}

function lookup(spec: Spec, name: string): [string, OptionDef, boolean] | undefined {
  const o = spec[name];
  if (o) return [name, o, false];
  if (name.startsWith('no-')) {
    const base = name.slice(3);
    const b = spec[base];
    if (b?.type === 'boolean' && b.negatable) return [base, b, true];
  }
  return undefined;
}

/**
 * Splits `args` by `spec` (which includes the common options) for `command`; throws a
 * UsageError naming the flag for anything a careful CLI refuses.
 */
export function parseArgv(
  command: string,
  spec: Spec,
  args: string[],
  allowPositionals: boolean,
): ParsedArgv {
  const see = `(see \`fourtuple ${command} --help\`)`;
  const { tokens } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.entries(spec).map(([name, o]) => [
        name,
        {
          type: o.type === 'boolean' ? ('boolean' as const) : ('string' as const),
          ...(o.short ? { short: o.short } : {}),
        },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given: Given = new Map();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (!allowPositionals) throw new UsageError(`unexpected argument "${t.value}" ${see}`);
      positionals.push(t.value);
      continue;
    }
    const found = lookup(spec, t.name);
    if (!found) throw new UsageError(`unknown option ${t.rawName} ${see}`);
    const [name, o, negated] = found;
    if (o.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`--${name} does not take a value`, name);
      const was = given.get(name);
      if (was !== undefined && was === negated) {
        throw new UsageError(`--${name} and --no-${name} cannot be used together`, name);
      }
      given.set(name, !negated);
      continue;
    }
    if (t.value === undefined || (!t.inlineValue && optionLike(t.value))) {
      const hint =
        t.value === undefined ? '' : ` (for a value that starts with "-": --${name}=VALUE)`;
      throw new UsageError(`--${name} needs a value${hint}`, name);
    }
    const was = given.get(name);
    if (o.type === 'string' && o.multiple) {
      given.set(name, [...(Array.isArray(was) ? was : []), t.value]);
    } else if (was !== undefined) {
      throw new UsageError(`--${name} is given more than once`, name);
    } else given.set(name, t.value);
  }
  return { given, positionals };
}

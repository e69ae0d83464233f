/**
 * `fourtuple COMMAND --help`, generated from the command's spec: the usage line, its prose, the
 * option list (aliases, placeholders, ranges, defaults, what is required) and the epilog.
 */
import { showBound } from './_args.js';
import { type Command, commandSpec } from './_command.js';
import { wrap } from './_output.js';
import { type OptionDef, showMs, showSize } from './_spec.js';

const WIDTH = 92;
const COLUMN = 26;

/** The value's placeholder: N, IP:PORT, ipv4|ipv6. */
function placeholder(o: OptionDef): string {
  if (o.placeholder) return o.placeholder;
  switch (o.type) {
    case 'boolean':
      return '';
    case 'int':
      return o.auto ? 'N|auto' : 'N';
    case 'bigint':
      return 'N';
    case 'duration':
      return 'T';
    case 'size':
      return 'SIZE';
    case 'choice':
      return o.choices.join('|');
    case 'hostport':
      return 'IP:PORT';
    case 'ip':
      return 'IP';
    default:
      return 'TEXT';
  }
}

/** 2^128 rather than its 39 digits; otherwise as the error messages show it (10^40). */
function showPower(v: bigint): string {
  const bits = v.toString(2);
  if (bits.length > 33 && /^10+$/.test(bits)) return `2^${bits.length - 1}`;
  return showBound(v);
}

function range(o: OptionDef): string | undefined {
  switch (o.type) {
    case 'int': {
      const max = typeof o.max === 'number' ? String(o.max) : o.max.text;
      return `${o.min} to ${max}${o.auto ? ', or auto' : ''}`;
    }
    case 'bigint':
      return `${showPower(o.min)} to ${showPower(o.max)}`;
    case 'duration':
      return `${showMs(o.minMs)} to ${showMs(o.maxMs)}`;
    case 'size':
      return `${showSize(o.min)} to ${showSize(o.max)}`;
    case 'hostport':
      return o.allowZero ? 'port 0 lets the kernel choose' : undefined;
    default:
      return undefined;
  }
}

function defaultText(o: OptionDef): string | undefined {
  if (o.defaultText) return o.defaultText;
  if (!('default' in o) || o.default === undefined) return undefined;
  const d = o.default;
  switch (o.type) {
    case 'boolean':
      return o.negatable ? (d ? 'on' : 'off') : undefined;
    case 'duration':
      return showMs(d as number);
    case 'size':
      return showSize(d as number);
    case 'bigint':
      return showBound(d as bigint);
    case 'string':
      return `"${d}"`;
    default:
      return String(d);
  }
}

/** The left column: "-n, --machines N" or "    --reuseaddr, --no-reuseaddr". */
function flagColumn(name: string, o: OptionDef): string {
  const alias = o.short ? `-${o.short}, ` : '    ';
  const value = placeholder(o);
  const negated = o.type === 'boolean' && o.negatable ? `, --no-${name}` : '';
  return `${alias}--${name}${value ? ` ${value}` : ''}${negated}`;
}

/** One option's line(s): the flag column, then its description with range and default. */
export function optionLines(name: string, o: OptionDef): string[] {
  const notes = [
    range(o),
    o.required === true ? 'required' : o.required ? `required ${o.required}` : undefined,
    o.type === 'string' && o.multiple ? 'repeatable' : undefined,
    defaultText(o) === undefined ? undefined : `default ${defaultText(o)}`,
  ].filter((n): n is string => n !== undefined);
  const text = `${o.description}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  const left = `  ${flagColumn(name, o)}`;
  const indent = ' '.repeat(COLUMN + 2);
  const body = wrap(text, WIDTH, indent).split('\n');
  if (left.length <= COLUMN) {
    body[0] = `${left.padEnd(COLUMN + 2)}${body[0]!.trimStart()}`;
    return body;
  }
  return [left, ...body];
}

/** "fourtuple theory --machines N --ports M [options]": required options and arguments shown. */
export function usageLine(c: Command): string {
  const required = Object.entries(c.options)
    .filter(([, o]) => o.required)
    .map(([name, o]) => `--${name} ${placeholder(o)}`.trimEnd());
  const name = c.name === 'tour' ? '[tour]' : c.name;
  return ['Usage: fourtuple', name, c.args?.usage, ...required, '[options]']
    .filter(Boolean)
    .join(' ');
}

/** The whole `fourtuple COMMAND --help` text. */
export function commandHelp(c: Command): string {
  const lines = [usageLine(c), '', c.description.trim(), ''];
  if (c.args) {
    lines.push('Arguments:', ...optionLinesFor(c.args.usage, c.args.description), '');
  }
  lines.push('Options:');
  for (const [name, o] of Object.entries(commandSpec(c))) lines.push(...optionLines(name, o));
  if (c.epilog) lines.push('', c.epilog.trim());
  return lines.join('\n');
}

function optionLinesFor(usage: string, description: string): string[] {
  const body = wrap(description, WIDTH, ' '.repeat(COLUMN + 2)).split('\n');
  const left = `  ${usage}`;
  body[0] = `${left.padEnd(COLUMN + 2)}${body[0]!.trimStart()}`;
  return body;
}

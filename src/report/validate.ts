/**
 * Checks a saved result against the schema derived from the library's own result types
 * (src/report/schema.generated.ts, made by test/helpers/result-schema.ts from ResultByKind).
 * Iterative (no recursion on the data), so a long series cannot overflow the stack; the first
 * mismatch is named by its path: `series[3].t must be a number (got "x")`.
 */
export type Schema =
  | { type: 'any' | 'bigint' | 'number' | 'boolean' | 'null' }
  | { type: 'string'; enum?: string[] }
  | { type: 'array'; items: Schema }
  | { type: 'anyOf'; anyOf: Schema[] }
  | {
      type: 'object';
      fields: Record<string, Schema>;
      required: string[];
      /** the type of every other key (a Record<string, T>) */
      values?: Schema;
    };

function describe(s: Schema): string {
  switch (s.type) {
    case 'bigint':
      return 'an integer (a decimal string)';
    case 'string':
      return s.enum ? `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}` : 'a string';
    case 'anyOf':
      return s.anyOf.map(describe).join(' or ');
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return `a ${s.type}`;
  }
}

function shown(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** True when `v` is of `s`'s own type (not its contents). */
function matchesHere(v: unknown, s: Schema): boolean {
  switch (s.type) {
    case 'any':
      return true;
    case 'bigint':
      return (typeof v === 'string' && /^-?\d+$/.test(v)) || Number.isSafeInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    case 'string':
      return typeof v === 'string' && (!s.enum || s.enum.includes(v));
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'anyOf':
      return s.anyOf.some((m) => matchesHere(v, m));
  }
}

/**
 * The first place where `value` does not have the shape of `schema`, as one line naming the
 * field, or undefined when it has. Fields the schema does not know are ignored.
 */
export function findMismatch(value: unknown, schema: Schema, at = ''): string | undefined {
  const stack: [unknown, Schema, string][] = [[value, schema, at]];
  while (stack.length > 0) {
    const [v, s0, path] = stack.pop()!;
    let s = s0;
    if (s.type === 'anyOf') {
      const here = s.anyOf.filter((x) => matchesHere(v, x));
      if (here.length === 0)
        return `${path || 'the result'} must be ${describe(s)} (got ${shown(v)})`;
      if (here.length > 1) {
        // several shapes of object ({ value, source } or { value: 'unknown', reason, source }):
        // the value must be one of them whole
        const misses = here.map((m) => findMismatch(v, m, path));
        if (misses.includes(undefined)) continue;
        return misses[0];
      }
      s = here[0]!;
    }
    if (!matchesHere(v, s))
      return `${path || 'the result'} must be ${describe(s)} (got ${shown(v)})`;
    if (s.type === 'array') {
      const a = v as unknown[];
      for (let i = a.length - 1; i >= 0; i--) stack.push([a[i], s.items, `${path}[${i}]`]);
    } else if (s.type === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of s.required) {
        if (!(k in o) || o[k] === undefined) return `${path ? `${path}.` : ''}${k} is missing`;
      }
      for (const [k, item] of Object.entries(o)) {
        const field = Object.hasOwn(s.fields, k) ? s.fields[k] : s.values;
        if (field && item !== undefined) stack.push([item, field, path ? `${path}.${k}` : k]);
      }
    }
  }
  return undefined;
}

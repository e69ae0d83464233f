/**
 * Derives the report's input schema from the library's own result types (ResultByKind in
 * src/report/types.ts) with the TypeScript checker: every field, its type, and whether it is
 * optional, as the saved `--json` output has it (a bigint is a decimal string). The schema is
 * committed as src/report/schema.generated.ts; test/unit/report-schema.test.ts fails when it is
 * stale (`UPDATE_SCHEMA=1 npx vitest run test/unit/report-schema.test.ts` rewrites it).
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Schema } from '../../src/report/validate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TYPES = `${ROOT}src/report/types.ts`;

export function generateResultSchemas(): Record<string, Schema> {
  const config = ts.readConfigFile(`${ROOT}tsconfig.json`, ts.sys.readFile).config;
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const program = ts.createProgram([TYPES], parsed.options);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(TYPES)!;
  const byKind = source.statements.find(
    (s): s is ts.InterfaceDeclaration =>
      ts.isInterfaceDeclaration(s) && s.name.text === 'ResultByKind',
  )!;
  const kindsType = checker.getTypeAtLocation(byKind);
  const out: Record<string, Schema> = {};
  for (const prop of kindsType.getProperties()) {
    out[prop.name] = toSchema(checker, checker.getTypeOfSymbolAtLocation(prop, byKind), byKind, []);
  }
  return out;
}

function toSchema(c: ts.TypeChecker, t: ts.Type, at: ts.Node, seen: ts.Type[]): Schema {
  const f = t.flags;
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { type: 'any' };
  if (f & (ts.TypeFlags.BigInt | ts.TypeFlags.BigIntLiteral)) return { type: 'bigint' };
  if (f & ts.TypeFlags.StringLiteral)
    return { type: 'string', enum: [(t as ts.StringLiteralType).value] };
  if (f & ts.TypeFlags.String) return { type: 'string' };
  if (f & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return { type: 'number' };
  if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
  if (f & ts.TypeFlags.Null) return { type: 'null' };
  if (t.isUnion()) {
    const members = t.types.filter(
      (m) => !(m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)),
    );
    const schemas = members.map((m) => toSchema(c, m, at, seen));
    const isEnum = (s: Schema): s is { type: 'string'; enum: string[] } =>
      s.type === 'string' && s.enum !== undefined;
    const strings = schemas.filter(isEnum);
    const rest = dedupe(schemas.filter((s) => !isEnum(s)));
    const merged: Schema[] = [
      ...(strings.length
        ? [{ type: 'string' as const, enum: strings.flatMap((s) => s.enum) }]
        : []),
      ...rest,
    ];
    return merged.length === 1 ? merged[0]! : { type: 'anyOf', anyOf: merged };
  }
  if (c.isArrayType(t) || c.isTupleType(t)) {
    const args = c.getTypeArguments(t as ts.TypeReference);
    const item = args.length === 1 ? toSchema(c, args[0]!, at, seen) : { type: 'any' as const };
    return { type: 'array', items: item };
  }
  if (f & ts.TypeFlags.Object) {
    if (seen.includes(t)) return { type: 'any' }; // a recursive type: checked one level down
    const next = [...seen, t];
    const index = c.getIndexInfoOfType(t, ts.IndexKind.String);
    const fields: Record<string, Schema> = {};
    const required: string[] = [];
    for (const p of c.getPropertiesOfType(t)) {
      const pt = c.getTypeOfSymbolAtLocation(p, at);
      if (pt.getCallSignatures().length > 0) continue;
      fields[p.name] = toSchema(c, pt, at, next);
      const optional =
        (p.flags & ts.SymbolFlags.Optional) !== 0 ||
        (pt.isUnion() && pt.types.some((m) => m.flags & ts.TypeFlags.Undefined));
      if (!optional) required.push(p.name);
    }
    return {
      type: 'object',
      fields,
      required,
      ...(index ? { values: toSchema(c, index.type, at, next) } : {}),
    };
  }
  return { type: 'any' };
}

function dedupe(xs: Schema[]): Schema[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

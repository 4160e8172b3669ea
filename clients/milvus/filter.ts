// Milvus boolean expressions: conditions rendered with escaped literals and checked field names
// and operators, so no value can change an expression's meaning. Which fields and values a
// caller may filter on is the vectors store's check (stores/vectors/filter.ts), done before.

/** A condition that cannot be rendered as a Milvus expression; `field` names its field. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** One condition on a scalar field (structurally the vectors store's Condition). */
export type ExpressionCondition =
  | { field: string; op: 'in' | 'not in'; values: readonly (string | number)[] }
  | { field: string; op: '==' | '!=' | '>' | '>=' | '<' | '<='; value: string | number | boolean };

const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '>', '>=', '<', '<=']);
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_STRING = 256;

/** A Milvus string literal: double-quoted, backslash and quote escaped, control characters refused. */
export function stringLiteral(field: string, value: string): string {
  if (typeof value !== 'string') throw new ExpressionError(field, `${field}: expected a string`);
  if (value.length > MAX_STRING)
    throw new ExpressionError(field, `${field}: value longer than ${MAX_STRING} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new ExpressionError(field, `${field}: control characters are not allowed`);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A literal of the value's own type: strings quoted and escaped, finite numbers, booleans. */
function literal(field: string, value: unknown): string {
  if (typeof value === 'string') return stringLiteral(field, value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  throw new ExpressionError(field, `${field}: expected a string, a finite number or a boolean`);
}

/** Joins conditions with `and` (empty: the empty expression, every row). */
export function buildFilter(conditions: readonly ExpressionCondition[]): string {
  return conditions
    .map((c) => {
      if (!FIELD_NAME.test(c.field))
        throw new ExpressionError(c.field, `${JSON.stringify(c.field)} is not a field name`);
      if (c.op === 'in' || c.op === 'not in') {
        if (!Array.isArray(c.values)) throw new ExpressionError(c.field, `${c.field}: expected a list`);
        return `${c.field} ${c.op} [${c.values.map((v) => literal(c.field, v)).join(', ')}]`;
      }
      const cmp = c as Extract<ExpressionCondition, { value: unknown }>;
      if (!COMPARISONS.has(cmp.op)) throw new ExpressionError(c.field, `${c.field}: unknown operator`);
      return `${c.field} ${cmp.op} ${literal(c.field, cmp.value)}`;
    })
    .map((e) => `(${e})`)
    .join(' and ');
}

/** `item_id in [...]` for a batch of validated primary keys. */
export function idsFilter(pkField: string, ids: readonly string[]): string {
  return `${pkField} in [${ids.map((id) => stringLiteral(pkField, id)).join(', ')}]`;
}

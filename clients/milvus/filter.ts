// Milvus boolean expressions built only from whitelisted fields and escaped literals.

export class FilterError extends Error {
  override name = 'FilterError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type ScalarType = 'varchar' | 'int64' | 'double' | 'bool';

/** A filterable scalar field of an item collection. */
export interface FilterableField {
  name: string;
  type: ScalarType;
}

export type Condition =
  | { field: string; op: 'in' | 'not in'; values: readonly (string | number)[] }
  | { field: string; op: '==' | '!=' | '>' | '>=' | '<' | '<='; value: string | number | boolean };

const MAX_IN_VALUES = 256;
const MAX_STRING = 256;

/** A Milvus string literal: double-quoted, backslash and quote escaped, control characters refused. */
export function stringLiteral(field: string, value: string): string {
  if (typeof value !== 'string') throw new FilterError(field, `${field}: expected a string`);
  if (value.length > MAX_STRING)
    throw new FilterError(field, `${field}: value longer than ${MAX_STRING} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new FilterError(field, `${field}: control characters are not allowed`);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function literal(field: FilterableField, value: unknown): string {
  switch (field.type) {
    case 'varchar':
      return stringLiteral(field.name, value as string);
    case 'int64':
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        throw new FilterError(field.name, `${field.name}: expected an integer`);
      return String(value);
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new FilterError(field.name, `${field.name}: expected a finite number`);
      return String(value);
    case 'bool':
      if (typeof value !== 'boolean')
        throw new FilterError(field.name, `${field.name}: expected true or false`);
      return String(value);
  }
}

/** Joins conditions with `and`; fails on any field outside `allowed` or any ill-typed value. */
export function buildFilter(conditions: readonly Condition[], allowed: readonly FilterableField[]): string {
  const byName = new Map(allowed.map((f) => [f.name, f]));
  return conditions
    .map((c) => {
      const field = byName.get(c.field);
      if (!field) throw new FilterError(c.field, `filter on unknown field ${JSON.stringify(c.field)}`);
      if (c.op === 'in' || c.op === 'not in') {
        if (!Array.isArray(c.values) || c.values.length === 0 || c.values.length > MAX_IN_VALUES)
          throw new FilterError(c.field, `${c.field}: between 1 and ${MAX_IN_VALUES} values`);
        return `${field.name} ${c.op} [${c.values.map((v) => literal(field, v)).join(', ')}]`;
      }
      const cmp = c as Extract<Condition, { value: unknown }>;
      if (field.type === 'bool' && cmp.op !== '==' && cmp.op !== '!=')
        throw new FilterError(c.field, `${c.field}: only == and != apply to a boolean`);
      return `${field.name} ${cmp.op} ${literal(field, cmp.value)}`;
    })
    .map((e) => `(${e})`)
    .join(' and ');
}

/** `item_id in [...]` for a batch of validated primary keys. */
export function idsFilter(pkField: string, ids: readonly string[]): string {
  return `${pkField} in [${ids.map((id) => stringLiteral(pkField, id)).join(', ')}]`;
}

// Conditions on the scalar fields of item vectors: the vectors store's filter, in no backend's
// syntax. `checkConditions` refuses any field outside a whitelist and any ill-typed value; each
// backend renders checked conditions in its own language (Milvus: clients/milvus/filter.ts).

/** A refused condition; `field` names the field it is on (the recall API answers 400 naming it). */
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

/** A filterable scalar field of an item vector set. */
export interface FilterableField {
  name: string;
  type: ScalarType;
}

export type Condition =
  | { field: string; op: 'in' | 'not in'; values: readonly (string | number)[] }
  | { field: string; op: '==' | '!=' | '>' | '>=' | '<' | '<='; value: string | number | boolean };

const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '>', '>=', '<', '<=']);
const MAX_IN_VALUES = 256;
const MAX_STRING = 256;

function checkValue(field: FilterableField, value: unknown): void {
  const name = field.name;
  switch (field.type) {
    case 'varchar':
      if (typeof value !== 'string') throw new FilterError(name, `${name}: expected a string`);
      if (value.length > MAX_STRING)
        throw new FilterError(name, `${name}: value longer than ${MAX_STRING} characters`);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      if (/[\u0000-\u001f\u007f]/.test(value))
        throw new FilterError(name, `${name}: control characters are not allowed`);
      return;
    case 'int64':
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        throw new FilterError(name, `${name}: expected an integer`);
      return;
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new FilterError(name, `${name}: expected a finite number`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw new FilterError(name, `${name}: expected true or false`);
      return;
  }
}

/**
 * The conditions, unchanged, when each is on a field of `allowed` with values of its type (and
 * all of them hold together); throws a FilterError naming the first field that is not.
 */
export function checkConditions(
  conditions: readonly Condition[],
  allowed: readonly FilterableField[],
): readonly Condition[] {
  const byName = new Map(allowed.map((f) => [f.name, f]));
  for (const c of conditions) {
    const field = byName.get(c.field);
    if (!field) throw new FilterError(c.field, `filter on unknown field ${JSON.stringify(c.field)}`);
    if (c.op === 'in' || c.op === 'not in') {
      if (!Array.isArray(c.values) || c.values.length === 0 || c.values.length > MAX_IN_VALUES)
        throw new FilterError(c.field, `${c.field}: between 1 and ${MAX_IN_VALUES} values`);
      for (const v of c.values) checkValue(field, v);
      continue;
    }
    const cmp = c as Extract<Condition, { value: unknown }>;
    if (!COMPARISONS.has(cmp.op)) throw new FilterError(c.field, `${c.field}: unknown operator`);
    if (field.type === 'bool' && cmp.op !== '==' && cmp.op !== '!=')
      throw new FilterError(c.field, `${c.field}: only == and != apply to a boolean`);
    checkValue(field, cmp.value);
  }
  return conditions;
}

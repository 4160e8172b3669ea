import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BehaviourEvent } from './behaviour.js';
import { Exposure } from './exposure.js';
import { SCHEMA_VERSION } from './ids.js';
import { ItemEvent } from './item.js';
import { UserProfileEvent } from './user.js';

/** One problem with one field of one input; `field` is a dotted path (`context.device`), '' for the whole value. */
export interface FieldError {
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export interface Contract<S extends TSchema> {
  name: string;
  schema: S;
  /** The Kafka record key of a valid value. */
  key(value: Static<S>): string;
  /** Checks a parsed value and returns it with `v` filled in, or every field error (one per field). */
  validate(value: unknown): Validated<Static<S>>;
}

/** TypeBox says only "Expected union value" for a union: name the accepted alternatives instead. */
function explain(schema: TSchema, message: string): string {
  const branches = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!branches) return message;
  const names = branches.map((b) =>
    b.const !== undefined
      ? JSON.stringify(b.const)
      : b.type === 'array'
        ? `array of ${(b.items as TSchema | undefined)?.type ?? 'values'}`
        : String(b.type),
  );
  return `Expected one of: ${names.join(', ')}`;
}

const pathToField = (path: string): string => path.replace(/^\//, '').replaceAll('/', '.');

function contract<S extends TSchema>(
  name: string,
  schema: S,
  key: (value: Static<S>) => string,
  rules: (value: Static<S>) => FieldError[] = () => [],
): Contract<S> {
  // compiled once: TypeBox's compiled checks are plain JS, no per-call schema walk
  const checker = TypeCompiler.Compile(schema);
  return {
    name,
    schema,
    key,
    validate(value) {
      if (checker.Check(value)) {
        const errors = rules(value);
        if (errors.length > 0) return { ok: false, errors };
        const v = value as Static<S> & { v?: number };
        v.v ??= SCHEMA_VERSION;
        return { ok: true, value: v };
      }
      const seen = new Set<string>();
      const errors: FieldError[] = [];
      for (const e of checker.Errors(value)) {
        const field = pathToField(e.path);
        if (seen.has(field)) continue; // a union reports one error per branch: keep the first
        seen.add(field);
        errors.push({ field, message: explain(e.schema, e.message) });
        if (errors.length >= 20) break;
      }
      return { ok: false, errors };
    },
  };
}

export const behaviourContract = contract('behaviour event', BehaviourEvent, (e) => e.user_id);

export const itemContract = contract(
  'item event',
  ItemEvent,
  (e) => e.item_id,
  (e) =>
    e.op === 'upsert' && e.features === undefined
      ? [{ field: 'features', message: 'Required when op is "upsert"' }]
      : e.op === 'remove' && e.features !== undefined
        ? [{ field: 'features', message: 'Not allowed when op is "remove"' }]
        : [],
);

export const userContract = contract('user profile event', UserProfileEvent, (e) => e.user_id);

export const exposureContract = contract('exposure', Exposure, (e) => e.user_id);

/** An error of one element of a batch. */
export interface IndexedFieldError extends FieldError {
  index: number;
}

/**
 * Validates every element; returns all values or, when any is invalid, the errors of each bad
 * element with its index (nothing of an invalid batch is accepted).
 */
export function validateBatch<S extends TSchema>(
  c: Contract<S>,
  values: unknown[],
  maxErrors = 100,
): { ok: true; values: Static<S>[] } | { ok: false; errors: IndexedFieldError[] } {
  const out: Static<S>[] = [];
  const errors: IndexedFieldError[] = [];
  for (let i = 0; i < values.length; i++) {
    const r = c.validate(values[i]);
    if (r.ok) out.push(r.value);
    else {
      for (const e of r.errors) errors.push({ index: i, ...e });
      if (errors.length >= maxErrors) break;
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values: out };
}

/** `field: message` lines, for logs and dead letters. */
export function describeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field || '(value)'}: ${e.message}`).join('; ');
}

import { Type } from '@sinclair/typebox';

// Identifier rules shared by every contract. Ids become parts of HBase row keys and Redis keys,
// so the alphabet excludes the separators those keys use ('|', ':', whitespace, control bytes).

/** User and item ids: 1–128 chars of [A-Za-z0-9_.@+=-]. */
export const ID_PATTERN = /^[A-Za-z0-9_.@+=-]{1,128}$/;

export const Id = (description: string) =>
  Type.String({ pattern: ID_PATTERN.source, minLength: 1, maxLength: 128, description });

/** Event ids are producer-chosen and make every write idempotent. */
export const EventId = Id(
  'Producer-supplied unique id of the event; re-sending an event with the same id changes nothing.',
);

/** The latest time any contract or query takes: 2100-01-01, Unix milliseconds. */
export const MAX_TIMESTAMP_MS = 4_102_444_800_000;

/** Event time, Unix milliseconds, between 1970 and 2100. */
export const Timestamp = Type.Integer({
  minimum: 0,
  maximum: MAX_TIMESTAMP_MS,
  description: 'Event time in Unix milliseconds.',
});

/** Version of the contracts; bump with a migration note in docs/api.md when a field changes meaning. */
export const SCHEMA_VERSION = 1 as const;
export const Version = Type.Optional(
  Type.Literal(SCHEMA_VERSION, { description: 'Schema version; 1 when omitted.' }),
);

const FEATURE_NAME = '^[a-z][a-z0-9_]{0,63}$';

/** Free-form features of items and users: bounded names, sizes and value kinds. */
export const Features = (description: string) =>
  Type.Record(
    Type.String({ pattern: FEATURE_NAME }),
    Type.Union([
      Type.String({ maxLength: 1024 }),
      Type.Number(),
      Type.Boolean(),
      Type.Array(Type.String({ maxLength: 256 }), { maxItems: 64 }),
    ]),
    { maxProperties: 64, description, additionalProperties: false },
  );

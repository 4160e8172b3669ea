import { type Static, Type } from '@sinclair/typebox';
import { Id, Timestamp, Version } from './ids.js';

/**
 * One answer the recall API returned (DESIGN.md §9), written to `recall.exposures` keyed by
 * `user_id`: the attribution processor joins a user's later behaviour to it.
 */
export const Exposure = Type.Object(
  {
    v: Version,
    request_id: Id('Unique id of the recall request (also in the response).'),
    user_id: Id('The user the answer was for.'),
    experiment: Type.Union([Id('The running experiment the user took part in.'), Type.Null()]),
    arm: Type.Union([Type.Literal('control'), Type.Literal('candidate'), Type.Null()], {
      description: 'The arm that served the answer; null outside an experiment.',
    }),
    model_version: Type.Union([Id('The model version whose towers and collection answered.'), Type.Null()]),
    source: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'personal, popular, …' }),
    items: Type.Array(Id('A returned item, best first.'), { maxItems: 1000 }),
    ts: Timestamp,
  },
  { additionalProperties: false, $id: 'Exposure' },
);
export type Exposure = Static<typeof Exposure>;

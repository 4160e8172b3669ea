import { type Static, Type } from '@sinclair/typebox';
import { EventId, Id, Timestamp, Version } from './ids.js';

/** What a user did to an item (DESIGN.md §4). Kafka key: `user_id`, so a user's events stay ordered. */
export const BehaviourEvent = Type.Object(
  {
    v: Version,
    event_id: EventId,
    user_id: Id('The acting user.'),
    item_id: Id('The item acted on.'),
    type: Type.String({
      pattern: '^[a-z][a-z0-9_]{0,31}$',
      description: 'view, click, like, cart, purchase, rating, … (extensible: lowercase word).',
    }),
    ts: Timestamp,
    value: Type.Optional(Type.Number({ description: 'Rating, dwell seconds, amount…' })),
    context: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), Type.String({ maxLength: 256 }), {
        maxProperties: 16,
        additionalProperties: false,
        description: 'Request context: device, page, geo…',
      }),
    ),
  },
  { additionalProperties: false, $id: 'BehaviourEvent' },
);
export type BehaviourEvent = Static<typeof BehaviourEvent>;

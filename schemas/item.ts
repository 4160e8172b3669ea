import { type Static, Type } from '@sinclair/typebox';
import { EventId, Features, Id, Timestamp, Version } from './ids.js';

/** An item created or changed (`upsert`, with its full feature set) or withdrawn (`remove`). Kafka key: `item_id`. */
export const ItemEvent = Type.Object(
  {
    v: Version,
    event_id: EventId,
    op: Type.Union([Type.Literal('upsert'), Type.Literal('remove')], {
      description: 'upsert replaces the item’s features; remove withdraws the item from recall.',
    }),
    item_id: Id('The item.'),
    ts: Timestamp,
    features: Type.Optional(
      Features('Item features, e.g. {"genres": ["Comedy"], "title": "…", "published_at": 1700000000000}.'),
    ),
  },
  { additionalProperties: false, $id: 'ItemEvent' },
);
export type ItemEvent = Static<typeof ItemEvent>;

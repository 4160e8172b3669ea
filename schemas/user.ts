import { type Static, Type } from '@sinclair/typebox';
import { EventId, Features, Id, Timestamp, Version } from './ids.js';

/** A user's profile, replaced as a whole. Kafka key: `user_id`. */
export const UserProfileEvent = Type.Object(
  {
    v: Version,
    event_id: EventId,
    user_id: Id('The user.'),
    ts: Timestamp,
    profile: Features('Profile attributes, e.g. {"gender": "F", "age": "25", "occupation": "4"}.'),
  },
  { additionalProperties: false, $id: 'UserProfileEvent' },
);
export type UserProfileEvent = Static<typeof UserProfileEvent>;

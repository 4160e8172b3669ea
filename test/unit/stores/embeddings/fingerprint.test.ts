import { describe, expect, it } from 'vitest';
import { eventFingerprint, tallyByUser } from '../../../../stores/embeddings/fingerprint.js';

describe('applied-events fingerprints', () => {
  it('tallies per user, so a double or a loss changes the sum', () => {
    const ev = (u: string, id: string) => ({ user_id: u, event_id: id });
    const once = tallyByUser([ev('u', 'e1'), ev('u', 'e2'), ev('w', 'e3')]);
    expect(once.get('u')).toEqual({
      userId: 'u',
      events: 2,
      fingerprint: eventFingerprint('e1') + eventFingerprint('e2'),
    });
    expect(once.get('w')).toEqual({ userId: 'w', events: 1, fingerprint: eventFingerprint('e3') });
    // e1 twice and e2 lost: the same count, another sum
    const swapped = tallyByUser([ev('u', 'e1'), ev('u', 'e1')]);
    expect(swapped.get('u')?.events).toBe(2);
    expect(once.get('u')?.fingerprint).toBe(2_216_349_443 + 2_233_127_062);
    expect(swapped.get('u')?.fingerprint).toBe(2 * 2_216_349_443);
  });
});

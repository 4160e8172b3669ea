// Store keys are never built by pasting raw input: every variable part goes through these.

import { ID_PATTERN } from '../schemas/ids.js';

export { ID_PATTERN };

export class KeyError extends Error {
  override name = 'KeyError';
}

export function assertId(field: string, value: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value))
    throw new KeyError(
      `${field} must match ${ID_PATTERN.source}, got ${JSON.stringify(String(value).slice(0, 40))}`,
    );
  return value;
}

/** Redis key `tf:{kind}:{part}:{part}`; `:` cannot occur in a validated part. */
export function redisKey(kind: string, ...parts: string[]): string {
  if (!/^[a-z][a-z0-9_]*$/.test(kind)) throw new KeyError(`bad key kind ${JSON.stringify(kind)}`);
  return ['tf', kind, ...parts.map((p, i) => assertId(`key part ${i}`, p))].join(':');
}

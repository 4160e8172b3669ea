import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../config/index.js';
import { ingestOpenApi } from '../../../ingest/openapi.js';

const committed = join(projectRoot(), 'docs/openapi/ingest.json');

/** Every path (dotted) under which an object has the key `key`. */
function pathsWithKey(value: unknown, key: string, at = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const here = at ? `${at}.${k}` : k;
    if (k === key) out.push(here);
    out.push(...pathsWithKey(v, key, here));
  }
  return out;
}

describe('ingest OpenAPI document', () => {
  it('the committed docs/openapi/ingest.json is exactly the generated document', () => {
    expect(readFileSync(committed, 'utf8')).toBe(`${JSON.stringify(ingestOpenApi(), null, 2)}\n`);
  });

  it('has no $id anywhere in its component schemas', () => {
    const doc = ingestOpenApi() as { components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.components.schemas).sort()).toEqual([
      'BehaviourEvent',
      'ItemEvent',
      'Problem',
      'UserProfileEvent',
    ]);
    expect(pathsWithKey(doc.components.schemas, '$id')).toEqual([]);
    const file = JSON.parse(readFileSync(committed, 'utf8')) as unknown;
    expect(pathsWithKey(file, '$id')).toEqual([]);
  });

  it('embeds the validating schemas: required fields, closed objects, the id pattern', () => {
    const doc = ingestOpenApi() as {
      components: {
        schemas: Record<
          string,
          {
            required?: string[];
            additionalProperties?: boolean;
            properties: Record<string, { pattern?: string }>;
          }
        >;
      };
    };
    const b = doc.components.schemas.BehaviourEvent;
    expect(b?.required?.sort()).toEqual(['event_id', 'item_id', 'ts', 'type', 'user_id']);
    expect(b?.additionalProperties).toBe(false);
    expect(b?.properties.user_id?.pattern).toBe('^[A-Za-z0-9_.@+=-]{1,128}$');
    expect(doc.components.schemas.UserProfileEvent?.required).toContain('profile');
  });

  it('references only schemas that exist', () => {
    const doc = ingestOpenApi() as { components: { schemas: Record<string, unknown> } };
    const refs = new Set(
      [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]),
    );
    expect([...refs].sort()).toEqual(['BehaviourEvent', 'ItemEvent', 'Problem', 'UserProfileEvent']);
    for (const r of refs) expect(doc.components.schemas).toHaveProperty(r as string);
  });
});

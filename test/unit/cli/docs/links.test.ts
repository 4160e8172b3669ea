import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchor } from '../../../../cli/docs/decisions-index.js';
import { projectRoot } from '../../../../config/index.js';

// The README and docs/ link into each other by file and heading; a section moved or renamed
// must not leave a link to nowhere.

const root = projectRoot();
const pages = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
function anchorsOf(file: string): Set<string> {
  const text = readFileSync(path.join(root, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => headingAnchor((m[1] as string).trim())));
}

describe('links between the README and docs/', () => {
  it('every relative link names a file that exists, and a heading that exists in it', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(path.join(root, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^[a-z]+:/.test(link)) continue;
        const [file, anchor] = link.split('#') as [string, string | undefined];
        const target = file ? path.normalize(path.join(path.dirname(page), file)) : page;
        if (!existsSync(path.join(root, target))) broken.push(`${page}: ${link} (no ${target})`);
        else if (anchor && target.endsWith('.md') && !anchorsOf(target).has(anchor))
          broken.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
      }
    }
    expect(broken).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { generatedBlock, withGeneratedBlock } from './markers.js';

// The dated index at the top of docs/decisions.md: one row per `## ` section, the day it was
// first recorded and a link to it. The entries themselves are never touched. A section's date
// is the one in its heading if it has one, else the date the index already gives it, else the
// day git first saw the heading (new sections), so regenerating never moves an existing date.

export const INDEX_BLOCK = 'index';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The `## ` headings of the document, outside fenced code blocks. */
export function sectionHeadings(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced && line.startsWith('## ')) out.push(line.slice(3).trim());
  }
  return out;
}

/** Heading → date, as the current index block gives them (empty when there is none). */
export function indexedDates(text: string): Map<string, string> {
  const dates = new Map<string, string>();
  let block: string;
  try {
    block = generatedBlock(text, INDEX_BLOCK);
  } catch {
    return dates;
  }
  for (const m of block.matchAll(/^\| (\d{4}-\d{2}-\d{2}) \| \[(.*)\]\(#[^)]*\) \|$/gm))
    dates.set((m[2] as string).replaceAll('\\|', '|'), m[1] as string);
  return dates;
}

/**
 * The index table for `text`. `firstSeen` dates a heading neither its text nor the current
 * index dates; without it such a heading is `undated`.
 */
export function decisionsIndex(text: string, firstSeen?: (heading: string) => string): string {
  const known = indexedDates(text);
  const rows = sectionHeadings(text).map((h) => {
    const date = /\d{4}-\d{2}-\d{2}/.exec(h)?.[0] ?? known.get(h) ?? firstSeen?.(h) ?? 'undated';
    return `| ${date} | [${h.replaceAll('|', '\\|')}](#${headingAnchor(h)}) |`;
  });
  return ['| first recorded | section |', '|---|---|', ...rows].join('\n');
}

/** `text` with its index block regenerated. */
export function withDecisionsIndex(text: string, firstSeen?: (heading: string) => string): string {
  return withGeneratedBlock(text, INDEX_BLOCK, decisionsIndex(text, firstSeen));
}

/** The day git first saw `## heading` in `file`, or today when it has not been committed yet. */
export function gitFirstSeen(root: string, file: string): (heading: string) => string {
  return (heading) => {
    try {
      const days = execFileSync(
        'git',
        ['log', '--reverse', '--format=%ad', '--date=short', '-S', `## ${heading}`, '--', file],
        { cwd: root, encoding: 'utf8' },
      );
      const first = days.split('\n')[0]?.trim();
      if (first) return first;
    } catch {
      // not a git checkout: the day it is indexed is the best date there is
    }
    return new Date().toISOString().slice(0, 10);
  };
}

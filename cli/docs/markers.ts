// Generated blocks inside hand-written Markdown: the text between a pair of marker comments
// belongs to a generator (`towerflow docs generate`), everything around it to people.

const begin = (name: string) => `<!-- BEGIN GENERATED ${name}: towerflow docs generate -->`;
const end = (name: string) => `<!-- END GENERATED ${name} -->`;

function bounds(text: string, name: string): { from: number; to: number } {
  const b = text.indexOf(begin(name));
  const e = text.indexOf(end(name));
  if (b < 0 || e < b) throw new Error(`no "${begin(name)}" … "${end(name)}" block`);
  return { from: b + begin(name).length, to: e };
}

/** The generated block `name` of `text`, without its markers and surrounding newlines. */
export function generatedBlock(text: string, name: string): string {
  const { from, to } = bounds(text, name);
  return text.slice(from, to).replace(/^\n+|\n+$/g, '');
}

/** `text` with the block `name` replaced by `body`. */
export function withGeneratedBlock(text: string, name: string, body: string): string {
  const { from, to } = bounds(text, name);
  return `${text.slice(0, from)}\n${body ? `${body}\n` : ''}${text.slice(to)}`;
}

/** An empty block `name`, to place in a document once. */
export function emptyBlock(name: string): string {
  return `${begin(name)}\n${end(name)}`;
}

import { ID_PATTERN } from '../schemas/ids.js';

/**
 * The users a key may act for: exact user ids and id prefixes (a tenant whose user ids share a
 * prefix, e.g. `acme.*`). A key without a scope acts for every user.
 */
export class UserScope {
  private constructor(
    private readonly exact: ReadonlySet<string>,
    private readonly prefixes: readonly string[],
    /** The scope as configured, for messages. */
    readonly text: string,
  ) {}

  allows(userId: string): boolean {
    return this.exact.has(userId) || this.prefixes.some((p) => userId.startsWith(p));
  }

  /** `id|prefix*|…`, each part an id as the contracts allow it (a prefix with a trailing `*`). */
  static parse(text: string): UserScope {
    const exact = new Set<string>();
    const prefixes: string[] = [];
    for (const part of text.split('|')) {
      const star = part.endsWith('*');
      const id = star ? part.slice(0, -1) : part;
      if (!ID_PATTERN.test(id))
        throw new Error(
          `user scope part ${JSON.stringify(part)} must be a user id or an id prefix ending in * (ids match ${ID_PATTERN.source})`,
        );
      if (star) prefixes.push(id);
      else exact.add(id);
    }
    return new UserScope(exact, prefixes, text);
  }
}

/** How a key entry names its users: `KEY;users=SCOPE` (`;` is in no generated key nor any user id). */
const SCOPE_MARK = ';users=';

/** A configured key entry: the key itself and, when limited, its users. */
export interface KeyEntry {
  key: string;
  users?: UserScope;
}

/** Splits `KEY` or `KEY;users=SCOPE`; throws a message that names the entry by position, never its key. */
export function parseKeyEntry(entry: string, where: string): KeyEntry {
  const at = entry.indexOf(SCOPE_MARK);
  if (at < 0) {
    if (entry.includes(';'))
      throw new Error(`${where}: a key may be followed only by ;users=SCOPE (e.g. KEY;users=acme.*|u42)`);
    return { key: entry };
  }
  const key = entry.slice(0, at);
  if (key.length === 0) throw new Error(`${where}: no key before ;users=`);
  try {
    return { key, users: UserScope.parse(entry.slice(at + SCOPE_MARK.length)) };
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

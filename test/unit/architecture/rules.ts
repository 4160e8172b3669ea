/**
 * The dependency rule: the rooms of the code and which rooms each may import. Arrows point down
 * only, so a folder's place in this table says what can break it. A new top-level folder with code
 * must be added here (layers.test.ts fails until it is).
 */

/** Where a relative import goes: both paths from the project root, with `.ts` for a `.js` specifier. */
export interface Edge {
  from: string;
  to: string;
  /** Only types cross the edge (`import type`, `export type`, `import('…').T`): nothing runs. */
  typeOnly: boolean;
}

interface Room {
  /** What the room is, for the failure message. */
  is: string;
  /** The rooms it may import ('anything' for entry points); its own room is always allowed. */
  may: readonly string[] | 'anything';
  /** Rooms it may import for types only. */
  typesFrom?: readonly string[];
  /** Single files of otherwise forbidden rooms, each with the reason. */
  files?: Readonly<Record<string, string>>;
}

const BELOW_PROCESSES = ['versions', 'model', 'stores', 'clients', 'schemas', 'config', 'runtime'] as const;
const PROCESS: Room = { is: 'a process', may: BELOW_PROCESSES };

export const ROOMS: Readonly<Record<string, Room>> = {
  cli: { is: 'an entry point', may: 'anything' },
  bench: { is: 'an entry point', may: 'anything' },
  chaos: { is: 'fault drills (an entry point)', may: 'anything' },
  infra: {
    is: 'local provisioning',
    may: BELOW_PROCESSES,
    files: {
      'streams/runtime.ts':
        'the processor names and their consumer groups: infra launches every processor and resets their offsets',
    },
  },
  replay: { is: 'the ingest client', may: ['model', 'schemas', 'clients', 'config', 'runtime'] },
  ingest: PROCESS,
  streams: PROCESS,
  batch: PROCESS,
  serving: PROCESS,
  versions: {
    is: 'the shared model version',
    may: ['model', 'stores', 'clients', 'schemas', 'config', 'runtime'],
  },
  model: { is: 'towers and training', may: ['schemas', 'config', 'runtime'], typesFrom: ['stores'] },
  stores: { is: 'storage', may: ['clients', 'schemas', 'config', 'runtime'] },
  clients: { is: 'wire clients', may: ['schemas', 'config', 'runtime'] },
  schemas: { is: 'data contracts', may: [] },
  config: { is: 'settings', may: [] },
  // the API doors check user ids named by key scopes against the contracts' id pattern
  runtime: { is: 'logging, metrics and the API doors', may: ['schemas', 'config'] },
};

/**
 * Imports that break the rule today, each to be removed by moving code, not by widening a room.
 * layers.test.ts fails when one of them no longer occurs, so the list only shrinks.
 */
export const KNOWN_EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [];

const roomOf = (file: string): string => file.split('/')[0] as string;

/** The role of a file under stores/ (stores/<role>/…), undefined for the shared stores/*.ts files. */
function storeRole(file: string): string | undefined {
  const parts = file.split('/');
  return parts[0] === 'stores' && parts.length > 2 ? parts[1] : undefined;
}

function allowed(room: Room): string {
  const may = room.may === 'anything' ? [] : [...room.may];
  if (room.typesFrom) may.push(...room.typesFrom.map((r) => `${r} (types only)`));
  const files = Object.keys(room.files ?? {});
  if (files.length > 0) may.push(`and of the processes ${files.join(', ')}`);
  return may.length > 0 ? `may import only ${may.join(', ')}` : 'may import nothing outside itself';
}

/** Why the edge breaks the rule, or undefined when it keeps it. */
export function violation(edge: Edge): string | undefined {
  const { from, to } = edge;
  const a = roomOf(from);
  const b = roomOf(to);
  const room = ROOMS[a];
  if (!room) return `${from} is in no room: add ${a} to ROOMS in test/unit/architecture/rules.ts`;
  if (a === b) {
    // store roles share only their keys (atomic invalidation across roles) and the shared stores/*.ts
    const target = storeRole(to);
    if (
      a === 'stores' &&
      target !== undefined &&
      target !== storeRole(from) &&
      !to.endsWith(`/${target}/keys.ts`)
    ) {
      return `${from} imports ${to}: a store role may import from another role only its keys.ts, and the shared stores/*.ts files`;
    }
    return undefined;
  }
  if (!ROOMS[b]) return `${from} imports ${to}, which is in no room of the table`;
  if (room.may === 'anything' || room.may.includes(b) || room.files?.[to] !== undefined) return undefined;
  if (edge.typeOnly && room.typesFrom?.includes(b)) return undefined;
  const how = room.typesFrom?.includes(b) ? ' as a value' : '';
  return `${from} imports ${to}${how}: ${a} (${room.is}) ${allowed(room)}`;
}

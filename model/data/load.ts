import { access, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type CsvRecord, type CsvTable, openCsv, parseCsv } from './csv.js';
import { parseFiniteNumber, parseUnixSeconds, StringPool, splitMultiValue, yearFromTitle } from './fields.js';
import { ContentKeys } from './keys.js';
import { type Dataset, DatasetError, type Interaction, type ItemRecord, type UserRecord } from './types.js';

/** Which interactions columns to read; optional ones may be absent from the header. */
interface InteractionLayout {
  user: string;
  item: string;
  timestamp: string;
  eventType?: string;
  value?: string;
  /** Event type given to every row when the file has no event-type column. */
  fixedType?: string;
  valueRequired: boolean;
  /** Our own format refuses unknown columns (likely a misspelt optional one); others ignore them. */
  allowExtraColumns: boolean;
  /** The expected header, for error messages. */
  expected: string;
}

const PROJECT_INTERACTIONS: InteractionLayout = {
  user: 'user_id',
  item: 'item_id',
  timestamp: 'timestamp',
  eventType: 'event_type',
  value: 'value',
  valueRequired: false,
  allowExtraColumns: false,
  expected: 'user_id,item_id,timestamp[,event_type][,value]',
};

const MOVIELENS_RATINGS: InteractionLayout = {
  user: 'userId',
  item: 'movieId',
  timestamp: 'timestamp',
  value: 'rating',
  fixedType: 'rating',
  valueRequired: true,
  allowExtraColumns: true,
  expected: 'userId,movieId,rating,timestamp',
};

const NO_GENRES = '(no genres listed)';

/**
 * Loads a dataset folder in the project format (interactions.csv [+ items.csv] [+ users.csv],
 * design.md §5) or MovieLens' layout (ratings.csv [+ movies.csv]). Bad input throws a
 * DatasetError naming file, line and field. Every interaction is kept: one whose item is missing
 * from an existing item file gets a bare (ID-only) item record, counted in `idOnly`. Each row gets
 * its content key (model/data/keys.ts), the tie-break of the time order.
 */
export async function loadDataset(dir: string): Promise<Dataset> {
  const name = basename(resolve(dir));
  if (await exists(join(dir, 'interactions.csv'))) return loadProjectDataset(dir, name);
  if (await exists(join(dir, 'ratings.csv'))) return loadMovieLensDataset(dir, name);
  throw new DatasetError(
    'no interactions.csv (project format) or ratings.csv (MovieLens layout) found',
    { file: dir },
    'pass a dataset folder that holds one, e.g. datasets/ml-latest-small (formats: docs/design.md §5)',
  );
}

async function loadProjectDataset(dir: string, name: string): Promise<Dataset> {
  const pool = new StringPool();
  const interactionsPath = join(dir, 'interactions.csv');
  const itemsPath = join(dir, 'items.csv');
  const usersPath = join(dir, 'users.csv');
  const all = await readInteractions(interactionsPath, PROJECT_INTERACTIONS, pool);
  const itemFile = (await exists(itemsPath)) ? readProjectItems(await readTable(itemsPath), pool) : undefined;
  const userFile = (await exists(usersPath)) ? readProjectUsers(await readTable(usersPath), pool) : undefined;
  return assemble(name, all, itemFile, userFile, 'items.csv');
}

async function loadMovieLensDataset(dir: string, name: string): Promise<Dataset> {
  const pool = new StringPool();
  const moviesPath = join(dir, 'movies.csv');
  const all = await readInteractions(join(dir, 'ratings.csv'), MOVIELENS_RATINGS, pool);
  const itemFile = (await exists(moviesPath)) ? readMovies(await readTable(moviesPath), pool) : undefined;
  return assemble(name, all, itemFile, undefined, 'movies.csv');
}

/**
 * Fills bare records for IDs known only from the interactions, appended in ID order (so the
 * corpus never depends on the interactions' file order). Interactions whose item is not in the
 * item file are kept (their items become ID-only records) and reported in `idOnly`.
 */
function assemble(
  name: string,
  interactions: Interaction[],
  itemFile: Map<string, ItemRecord> | undefined,
  userFile: Map<string, UserRecord> | undefined,
  itemFileName: string,
): Dataset {
  const items = itemFile ?? new Map<string, ItemRecord>();
  const users = userFile ?? new Map<string, UserRecord>();
  const bareItems = new Set<string>();
  const bareUsers = new Set<string>();
  let bareInteractions = 0;
  for (const r of interactions) {
    if (!items.has(r.item)) {
      bareItems.add(r.item);
      bareInteractions++;
    }
    if (!users.has(r.user)) bareUsers.add(r.user);
  }
  const bare = [...bareItems].sort(byCodeUnits);
  for (const id of bare) items.set(id, { id, categorical: {}, numeric: {} });
  for (const id of [...bareUsers].sort(byCodeUnits)) users.set(id, { id, categorical: {} });
  const ds: Dataset = { name, interactions, items, users, skipped: [] };
  if (itemFile !== undefined && bare.length > 0)
    ds.idOnly = { source: itemFileName, items: bare, interactions: bareInteractions };
  return ds;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function readInteractions(
  path: string,
  layout: InteractionLayout,
  pool: StringPool,
): Promise<Interaction[]> {
  const csv = await openCsv(path);
  const where = { file: path, line: csv.headerLine };
  const need = [layout.user, layout.item, layout.timestamp];
  if (layout.valueRequired && layout.value !== undefined) need.push(layout.value);
  requireColumns(csv.header, need, layout.expected, where);
  const known = new Set([...need, layout.eventType, layout.value]);
  if (!layout.allowExtraColumns) {
    const extra = csv.header.find((column) => !known.has(column));
    if (extra !== undefined) {
      throw new DatasetError(`unexpected column "${extra}" (expected header ${layout.expected})`, {
        ...where,
        field: extra,
      });
    }
  }
  const userAt = csv.header.indexOf(layout.user);
  const itemAt = csv.header.indexOf(layout.item);
  const tsAt = csv.header.indexOf(layout.timestamp);
  const typeAt = layout.eventType === undefined ? -1 : csv.header.indexOf(layout.eventType);
  const valueAt = layout.value === undefined ? -1 : csv.header.indexOf(layout.value);

  const out: Interaction[] = [];
  const keys = new ContentKeys();
  for await (const batch of csv.batches()) {
    for (const record of batch) {
      const f = record.fields;
      const user = requireId(f[userAt] as string, path, record, layout.user);
      const item = requireId(f[itemAt] as string, path, record, layout.item);
      const tsText = f[tsAt] as string;
      const ts = parseUnixSeconds(tsText);
      if (ts === undefined) {
        throw new DatasetError(`bad timestamp "${tsText}" (expected Unix seconds, integer or decimal)`, {
          file: path,
          line: record.line,
          field: layout.timestamp,
        });
      }
      const typeText = typeAt === -1 ? '' : (f[typeAt] as string).trim();
      const x = {
        user: pool.intern(user),
        item: pool.intern(item),
        ts,
        type: typeText !== '' ? pool.intern(typeText) : layout.fixedType,
        value: valueAt === -1 ? undefined : readValue(f[valueAt] as string, layout, path, record),
      };
      out.push({ ...x, key: keys.next(x), row: out.length });
    }
  }
  if (out.length === 0) throw new DatasetError('no interaction rows after the header', where);
  return out;
}

function readValue(
  text: string,
  layout: InteractionLayout,
  file: string,
  record: CsvRecord,
): number | undefined {
  const field = layout.value as string;
  if (text.trim() === '') {
    if (layout.valueRequired) throw new DatasetError('empty value', { file, line: record.line, field });
    return undefined;
  }
  const value = parseFiniteNumber(text);
  if (value === undefined) {
    throw new DatasetError(`bad number "${text}"`, { file, line: record.line, field });
  }
  return value;
}

/** items.csv: `item_id` plus any columns; numeric when every non-empty cell is a number. */
function readProjectItems(table: CsvTable, pool: StringPool): Map<string, ItemRecord> {
  requireColumns(table.header, ['item_id'], 'item_id[,any columns]', {
    file: table.file,
    line: table.headerLine,
  });
  const idAt = table.header.indexOf('item_id');
  const columns = table.header
    .map((name, at) => ({ name, at }))
    .filter(({ name }) => name !== 'item_id')
    .map(({ name, at }) => ({
      name,
      at,
      kind: name === 'title' ? 'text' : isNumericColumn(table.rows, at) ? 'numeric' : 'categorical',
    }));

  const items = new Map<string, ItemRecord>();
  const firstLine = new Map<string, number>();
  for (const record of table.rows) {
    const id = uniqueId(record, idAt, 'item_id', table.file, firstLine);
    const item: ItemRecord = { id: pool.intern(id), categorical: {}, numeric: {} };
    for (const column of columns) {
      const cell = record.fields[column.at] as string;
      if (column.kind === 'text') {
        if (cell !== '') item.text = cell;
      } else if (column.kind === 'numeric') {
        const value = parseFiniteNumber(cell);
        if (value !== undefined) item.numeric[column.name] = value;
      } else {
        item.categorical[column.name] = splitMultiValue(cell).map((v) => pool.intern(v));
      }
    }
    items.set(item.id, item);
  }
  return items;
}

function isNumericColumn(rows: CsvRecord[], at: number): boolean {
  let seen = false;
  for (const record of rows) {
    const cell = record.fields[at] as string;
    if (cell.trim() === '') continue;
    if (parseFiniteNumber(cell) === undefined) return false;
    seen = true;
  }
  return seen; // an all-empty column carries nothing numeric
}

/** users.csv: `user_id` plus single-valued categorical columns. */
function readProjectUsers(table: CsvTable, pool: StringPool): Map<string, UserRecord> {
  requireColumns(table.header, ['user_id'], 'user_id[,categorical columns]', {
    file: table.file,
    line: table.headerLine,
  });
  const idAt = table.header.indexOf('user_id');
  const users = new Map<string, UserRecord>();
  const firstLine = new Map<string, number>();
  for (const record of table.rows) {
    const id = uniqueId(record, idAt, 'user_id', table.file, firstLine);
    const user: UserRecord = { id: pool.intern(id), categorical: {} };
    table.header.forEach((name, at) => {
      if (at === idAt) return;
      const cell = (record.fields[at] as string).trim();
      if (cell !== '') user.categorical[name] = pool.intern(cell);
    });
    users.set(user.id, user);
  }
  return users;
}

/** movies.csv: genres (multi-valued), title (text) and the title's trailing (YYYY) as `year`. */
function readMovies(table: CsvTable, pool: StringPool): Map<string, ItemRecord> {
  requireColumns(table.header, ['movieId', 'title', 'genres'], 'movieId,title,genres', {
    file: table.file,
    line: table.headerLine,
  });
  const idAt = table.header.indexOf('movieId');
  const titleAt = table.header.indexOf('title');
  const genresAt = table.header.indexOf('genres');
  const items = new Map<string, ItemRecord>();
  const firstLine = new Map<string, number>();
  for (const record of table.rows) {
    const id = uniqueId(record, idAt, 'movieId', table.file, firstLine);
    const title = record.fields[titleAt] as string;
    const genres = splitMultiValue(record.fields[genresAt] as string).filter((g) => g !== NO_GENRES);
    const item: ItemRecord = {
      id: pool.intern(id),
      categorical: { genres: genres.map((g) => pool.intern(g)) },
      numeric: {},
    };
    if (title !== '') item.text = title;
    const year = yearFromTitle(title);
    if (year !== undefined) item.numeric.year = year;
    items.set(item.id, item);
  }
  return items;
}

async function readTable(path: string): Promise<CsvTable> {
  return parseCsv(await readFile(path, 'utf8'), path);
}

function requireColumns(
  header: string[],
  required: string[],
  expected: string,
  where: { file: string; line: number },
): void {
  for (const column of required) {
    if (!header.includes(column)) {
      throw new DatasetError(
        `missing required column "${column}" (expected header ${expected}; found ${header.join(',')})`,
        { ...where, field: column },
      );
    }
  }
}

/** IDs are kept exactly as given (no trimming, no number conversion) but may not be empty. */
function requireId(value: string, file: string, record: CsvRecord, field: string): string {
  if (value === '') throw new DatasetError('empty ID', { file, line: record.line, field });
  return value;
}

function uniqueId(
  record: CsvRecord,
  at: number,
  field: string,
  file: string,
  firstLine: Map<string, number>,
): string {
  const id = requireId(record.fields[at] as string, file, record, field);
  const earlier = firstLine.get(id);
  if (earlier !== undefined) {
    throw new DatasetError(`duplicated ID "${id}" (first on line ${earlier})`, {
      file,
      line: record.line,
      field,
    });
  }
  firstLine.set(id, record.line);
  return id;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

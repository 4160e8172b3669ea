import { createReadStream } from 'node:fs';
import { DatasetError } from './types.js';

/** One CSV record and the 1-based physical line it starts on (a quoted newline spans lines). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Tokenizer states (plain numbers: this loop runs once per field of a big file). */
const FIELD_START = 0; // at the start of a field (or of a record, when no field is pending)
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3; // just read a quote inside a quoted field: an escaped quote or the closing one
const AFTER_CR = 4; // just ended a record on CR: swallow a following LF
type State = typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE_IN_QUOTED | typeof AFTER_CR;

/**
 * Incremental RFC 4180 tokenizer: feed text chunks of any size, get complete records back.
 * Records end on LF, CRLF or a lone CR; quoted fields may hold commas, quotes ("") and newlines.
 * A quote inside an unquoted field or text after a closing quote is an error: it usually
 * means a broken export, and guessing would shift columns silently.
 */
export class CsvTokenizer {
  private state: State = FIELD_START;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private started = false;

  constructor(private readonly file: string) {}

  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let text = chunk;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark
    }
    const n = text.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case AFTER_CR:
          if (text.charCodeAt(i) === LF) i++;
          this.state = FIELD_START;
          break;
        case FIELD_START:
          if (text.charCodeAt(i) === QUOTE) {
            this.state = QUOTED;
            i++;
          } else {
            this.state = UNQUOTED;
          }
          break;
        case UNQUOTED: {
          let j = i;
          let c = 0;
          while (j < n) {
            c = text.charCodeAt(j);
            if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
            j++;
          }
          this.field += text.slice(i, j);
          i = j;
          if (j === n) break;
          if (c === QUOTE) {
            throw new DatasetError(
              'a quote inside an unquoted field (quote the whole field and double inner quotes)',
              {
                file: this.file,
                line: this.line,
              },
            );
          }
          i = this.afterField(c, i, out);
          break;
        }
        case QUOTED: {
          const q = text.indexOf('"', i);
          const end = q === -1 ? n : q;
          const piece = text.slice(i, end);
          this.field += piece;
          this.line += countLineFeeds(piece);
          if (q === -1) {
            i = n;
          } else {
            this.state = QUOTE_IN_QUOTED;
            i = q + 1;
          }
          break;
        }
        case QUOTE_IN_QUOTED: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.field += '"';
            this.state = QUOTED;
            i++;
          } else if (c === COMMA || c === LF || c === CR) {
            i = this.afterField(c, i, out);
          } else {
            throw new DatasetError('unexpected text after a closing quote', {
              file: this.file,
              line: this.line,
            });
          }
          break;
        }
      }
    }
    return out;
  }

  /** Flushes the last record of a file that does not end with a newline. */
  end(): CsvRecord[] {
    if (this.state === QUOTED) {
      throw new DatasetError('unterminated quoted field', { file: this.file, line: this.recordLine });
    }
    const out: CsvRecord[] = [];
    const pending = this.state === UNQUOTED || this.state === QUOTE_IN_QUOTED || this.fields.length > 0;
    if (pending) {
      this.fields.push(this.field);
      this.emit(out);
    }
    this.state = FIELD_START;
    return out;
  }

  /** Handles the separator `c` (comma, LF or CR) at `i` that ends a field; returns the next index. */
  private afterField(c: number, i: number, out: CsvRecord[]): number {
    this.fields.push(this.field);
    this.field = '';
    if (c === COMMA) {
      this.state = FIELD_START;
      return i + 1;
    }
    this.emit(out);
    this.line++;
    this.recordLine = this.line;
    this.state = c === CR ? AFTER_CR : FIELD_START;
    return i + 1;
  }

  private emit(out: CsvRecord[]): void {
    out.push({ line: this.recordLine, fields: this.fields });
    this.fields = [];
    this.field = '';
  }
}

function countLineFeeds(s: string): number {
  let count = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) count++;
  return count;
}

/** A blank line (or one of only spaces) carries no data; blank trailing lines are common. */
function isBlank(record: CsvRecord): boolean {
  return record.fields.length === 1 && (record.fields[0] as string).trim() === '';
}

/** Header names, trimmed; refuses empty and duplicated names. */
function readHeader(record: CsvRecord, file: string): string[] {
  const header = record.fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of header) {
    if (name === '')
      throw new DatasetError('the header has an empty column name', { file, line: record.line });
    if (seen.has(name)) {
      throw new DatasetError(`duplicated column "${name}" in the header`, {
        file,
        line: record.line,
        field: name,
      });
    }
    seen.add(name);
  }
  return header;
}

/** Keeps data records with the header's width; drops blank lines; throws on any other width. */
function collectRows(records: CsvRecord[], width: number, file: string, into: CsvRecord[]): void {
  for (const record of records) {
    if (isBlank(record)) continue;
    if (record.fields.length !== width) {
      throw new DatasetError(`expected ${width} fields (as in the header), found ${record.fields.length}`, {
        file,
        line: record.line,
      });
    }
    into.push(record);
  }
}

export interface CsvTable {
  file: string;
  header: string[];
  headerLine: number;
  rows: CsvRecord[];
}

/** Parses a whole CSV text with a header row. `file` only labels errors. */
export function parseCsv(text: string, file: string): CsvTable {
  const tokenizer = new CsvTokenizer(file);
  const records = tokenizer.push(text);
  records.push(...tokenizer.end());
  const headerAt = records.findIndex((r) => !isBlank(r));
  const headerRecord = records[headerAt];
  if (headerRecord === undefined) throw new DatasetError('empty file (no header row)', { file });
  const header = readHeader(headerRecord, file);
  const rows: CsvRecord[] = [];
  collectRows(records.slice(headerAt + 1), header.length, file, rows);
  return { file, header, headerLine: headerRecord.line, rows };
}

export interface CsvStream {
  file: string;
  header: string[];
  headerLine: number;
  /** Data records in file order, in batches (one per read chunk) to keep per-row overhead low. */
  batches(): AsyncGenerator<CsvRecord[]>;
}

/**
 * Opens a CSV file with a header row and reads just far enough to return the header; the
 * rows stream from `batches()`, so big interaction files never sit in memory as text.
 */
export async function openCsv(path: string): Promise<CsvStream> {
  const chunks = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  const tokenizer = new CsvTokenizer(path);
  let leftover: CsvRecord[] = [];
  let headerRecord: CsvRecord | undefined;
  let exhausted = false;
  while (headerRecord === undefined && !exhausted) {
    const next = await chunks.next();
    exhausted = next.done === true;
    const records = exhausted ? tokenizer.end() : tokenizer.push(next.value as string);
    const at = records.findIndex((r) => !isBlank(r));
    if (at !== -1) {
      headerRecord = records[at];
      leftover = records.slice(at + 1);
    }
  }
  if (headerRecord === undefined) throw new DatasetError('empty file (no header row)', { file: path });
  const header = readHeader(headerRecord, path);
  const width = header.length;

  async function* batches(): AsyncGenerator<CsvRecord[]> {
    const first: CsvRecord[] = [];
    collectRows(leftover, width, path, first);
    leftover = [];
    if (first.length > 0) yield first;
    while (!exhausted) {
      const next = await chunks.next();
      exhausted = next.done === true;
      const rows: CsvRecord[] = [];
      collectRows(exhausted ? tokenizer.end() : tokenizer.push(next.value as string), width, path, rows);
      if (rows.length > 0) yield rows;
    }
  }

  return { file: path, header, headerLine: headerRecord.line, batches };
}

/** Quotes a field only when RFC 4180 requires it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

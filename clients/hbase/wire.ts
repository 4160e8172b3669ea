// Hand-written TBinaryProtocol encoding of the history processor's two calls per batch,
// `putMultiple` and `existsAll`. The generated stubs build a TPut/TGet object graph and the
// library writes it one small Buffer per field: 9–10 µs a put row, about a fifth of the
// processor's CPU per event (docs/decisions.md, Streams: the Thrift encoder). Here a call is sized first and
// written into one Buffer. Answers are still read by the generated stubs. The byte layout is
// the generated code's, field for field (a unit test compares them byte for byte).

import { HBaseError } from './errors.js';
import type { Bytes, PutRow } from './types.js';

const VERSION_1_CALL = 0x80010000 | 1 | 0;
const STOP = 0;
const I64 = 10;
const STRING = 11;
const STRUCT = 12;
const LIST = 15;

const FIELD = 3; // type byte + i16 id
const LEN = 4;

/** `family:qualifier` split once per distinct column name (a table has a handful). */
const columns = new Map<string, [string, string]>();
export function columnParts(name: string): [string, string] {
  let c = columns.get(name);
  if (!c) {
    const i = name.indexOf(':');
    if (i <= 0) throw new HBaseError(`column must be family:qualifier, got ${JSON.stringify(name)}`);
    c = [name.slice(0, i), name.slice(i + 1)];
    if (columns.size < 1024) columns.set(name, c);
  }
  return c;
}

/** UTF-8 length; short ASCII strings (row keys, JSON of ids) are counted without a native call. */
function byteLength(b: Bytes): number {
  if (typeof b !== 'string') return b.length;
  if (b.length > 512) return Buffer.byteLength(b);
  for (let i = 0; i < b.length; i++) if (b.charCodeAt(i) > 127) return Buffer.byteLength(b);
  return b.length;
}

class Writer {
  private o = 0;
  constructor(readonly buf: Buffer) {}

  field(type: number, id: number): void {
    this.buf[this.o] = type;
    this.buf.writeInt16BE(id, this.o + 1);
    this.o += FIELD;
  }

  stop(): void {
    this.buf[this.o++] = STOP;
  }

  i32(v: number): void {
    this.buf.writeInt32BE(v, this.o);
    this.o += 4;
  }

  /** Two's complement of an integer-valued double (|v| < 2^53). */
  i64(v: number): void {
    const hi = Math.floor(v / 2 ** 32);
    this.buf.writeInt32BE(hi, this.o);
    this.buf.writeUInt32BE(v - hi * 2 ** 32, this.o + 4);
    this.o += 8;
  }

  bytes(b: Bytes, len: number): void {
    this.i32(len);
    if (typeof b !== 'string') b.copy(this.buf, this.o);
    else if (len === b.length && len <= 512) {
      // ASCII (byteLength said so): byte per char, cheaper in JS than a native write for short strings
      for (let i = 0; i < len; i++) this.buf[this.o + i] = b.charCodeAt(i);
    } else this.buf.write(b, this.o, len, 'utf8');
    this.o += len;
  }

  list(elementType: number, n: number): void {
    this.buf[this.o++] = elementType;
    this.i32(n);
  }

  get written(): number {
    return this.o;
  }
}

function header(name: string): number {
  return LEN + LEN + byteLength(name) + LEN;
}

function writeHeader(w: Writer, name: string, seqid: number): void {
  w.i32(VERSION_1_CALL);
  w.bytes(name, byteLength(name));
  w.i32(seqid);
}

/** The message header, then the args' `table` (field 1) and the header of their list (field 2). */
function writeCallStart(w: Writer, name: string, seqid: number, table: Buffer, n: number): void {
  writeHeader(w, name, seqid);
  w.field(STRING, 1);
  w.bytes(table, table.length);
  w.field(LIST, 2);
  w.list(STRUCT, n);
}

/** Bytes of what writeCallStart writes, plus the args' final stop. */
const callStartAndStop = (name: string, table: Buffer): number =>
  header(name) + FIELD + LEN + table.length + FIELD + 1 + LEN + 1;

function finish(w: Writer): Buffer {
  if (w.written !== w.buf.length)
    throw new Error(`thrift encoder sized ${w.buf.length} bytes, wrote ${w.written}`);
  return w.buf;
}

/** A `putMultiple(table, tputs)` call message. */
export function encodePutMultiple(seqid: number, table: Buffer, rows: PutRow[]): Buffer {
  // sizes first: every string's UTF-8 length is needed twice (to size, then as its prefix)
  const cells: [string, string, Bytes, number, number, number][][] = [];
  const rowLens: number[] = [];
  let size = callStartAndStop('putMultiple', table);
  for (const r of rows) {
    const rowLen = byteLength(r.row);
    rowLens.push(rowLen);
    const cs: [string, string, Bytes, number, number, number][] = [];
    size += FIELD + LEN + rowLen + FIELD + 1 + LEN + (r.ts === undefined ? 0 : FIELD + 8) + 1;
    for (const [name, value] of Object.entries(r.cells)) {
      const [family, qualifier] = columnParts(name);
      const f = byteLength(family);
      const q = byteLength(qualifier);
      const v = byteLength(value);
      cs.push([family, qualifier, value, f, q, v]);
      size += 3 * (FIELD + LEN) + f + q + v + 1;
    }
    cells.push(cs);
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  writeCallStart(w, 'putMultiple', seqid, table, rows.length);
  rows.forEach((r, i) => {
    w.field(STRING, 1);
    w.bytes(r.row, rowLens[i] as number);
    const cs = cells[i] as [string, string, Bytes, number, number, number][];
    w.field(LIST, 2);
    w.list(STRUCT, cs.length);
    for (const [family, qualifier, value, f, q, v] of cs) {
      w.field(STRING, 1);
      w.bytes(family, f);
      w.field(STRING, 2);
      w.bytes(qualifier, q);
      w.field(STRING, 3);
      w.bytes(value, v);
      w.stop();
    }
    if (r.ts !== undefined) {
      w.field(I64, 3);
      w.i64(r.ts);
    }
    w.stop();
  });
  w.stop();
  return finish(w);
}

/** An `existsAll(table, tgets)` call message: one TGet with only its row per row. */
export function encodeExistsAll(seqid: number, table: Buffer, rows: Bytes[]): Buffer {
  const lens = rows.map(byteLength);
  let size = callStartAndStop('existsAll', table);
  for (const n of lens) size += FIELD + LEN + n + 1;
  const w = new Writer(Buffer.allocUnsafe(size));
  writeCallStart(w, 'existsAll', seqid, table, rows.length);
  rows.forEach((row, i) => {
    w.field(STRING, 1);
    w.bytes(row, lens[i] as number);
    w.stop();
  });
  w.stop();
  return finish(w);
}

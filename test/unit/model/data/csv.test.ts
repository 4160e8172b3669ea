import { describe, expect, it } from 'vitest';
import { CsvTokenizer, csvLine, parseCsv } from '../../../../model/data/csv.js';
import { DatasetError } from '../../../../model/data/types.js';

/** Tokenizes `text` fed in the given chunk sizes (or whole). */
function tokenize(text: string, chunk = text.length || 1) {
  const tokenizer = new CsvTokenizer('t.csv');
  const records = [];
  for (let i = 0; i < text.length; i += chunk) records.push(...tokenizer.push(text.slice(i, i + chunk)));
  records.push(...tokenizer.end());
  return records;
}

const TRICKY = 'id,title\r\n1,"Heat, The (1995)"\r\n2,"Say ""hi""\nagain",x\n3,\n,\r4,last';

describe('CsvTokenizer', () => {
  it('reads quoted commas, doubled quotes and newlines, with the line each record starts on', () => {
    expect(tokenize(TRICKY)).toEqual([
      { line: 1, fields: ['id', 'title'] },
      { line: 2, fields: ['1', 'Heat, The (1995)'] },
      { line: 3, fields: ['2', 'Say "hi"\nagain', 'x'] },
      { line: 5, fields: ['3', ''] },
      { line: 6, fields: ['', ''] },
      { line: 7, fields: ['4', 'last'] },
    ]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    const whole = tokenize(TRICKY);
    for (let chunk = 1; chunk <= 7; chunk++) expect(tokenize(TRICKY, chunk)).toEqual(whole);
  });

  it('drops a byte-order mark and does not invent a record after a final newline', () => {
    expect(tokenize('\uFEFFa,b\n')).toEqual([{ line: 1, fields: ['a', 'b'] }]);
    expect(tokenize('a,b\r\n')).toEqual([{ line: 1, fields: ['a', 'b'] }]);
  });

  it('keeps a trailing empty field at end of file', () => {
    expect(tokenize('a,')).toEqual([{ line: 1, fields: ['a', ''] }]);
  });

  it.each([
    ['a,"open\n', /line 1.*unterminated quoted field/],
    ['a,b\nx,y"z\n', /line 2.*quote inside an unquoted field/],
    ['a,"b"c\n', /line 1.*after a closing quote/],
  ])('refuses malformed quoting in %j', (text, message) => {
    expect(() => tokenize(text)).toThrow(DatasetError);
    expect(() => tokenize(text)).toThrow(message);
  });
});

describe('parseCsv', () => {
  it('returns header and data rows, skipping blank lines', () => {
    const table = parseCsv('\na , b\n1,2\n\n3,4\n\n  \n', 'f.csv');
    expect(table.header).toEqual(['a', 'b']);
    expect(table.headerLine).toBe(2);
    expect(table.rows).toEqual([
      { line: 3, fields: ['1', '2'] },
      { line: 5, fields: ['3', '4'] },
    ]);
  });

  it('refuses an empty file', () => {
    expect(() => parseCsv('', 'f.csv')).toThrow(/f\.csv: empty file/);
    expect(() => parseCsv('\n\n', 'f.csv')).toThrow(/empty file/);
  });

  it('refuses duplicated and empty header names', () => {
    expect(() => parseCsv('a,b,a\n1,2,3\n', 'f.csv')).toThrow(/f\.csv, line 1, field "a": duplicated column/);
    expect(() => parseCsv('a,,b\n', 'f.csv')).toThrow(/empty column name/);
  });

  it('names file and line of a row with the wrong number of fields', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n', 'f.csv')).toThrow(
      'f.csv, line 3: expected 2 fields (as in the header), found 1',
    );
  });
});

describe('csvLine', () => {
  it('quotes only what needs quoting and reads back the same', () => {
    const fields = ['plain', 'with, comma', 'say "hi"', 'two\nlines', ''];
    const line = csvLine(fields);
    expect(line).toBe('plain,"with, comma","say ""hi""","two\nlines",\n');
    expect(tokenize(line)[0]?.fields).toEqual(fields);
  });
});

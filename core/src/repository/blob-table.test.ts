import { randomBytes } from 'node:crypto';
import { BlobTable } from './blob-table';

function entry(i: number): { pack: number; tree: boolean; offset: number; length: number; rawLength: number } {
  return { pack: i % 977, tree: i % 5 === 0, offset: i * 4096 + 2 ** 33, length: (i % 8191) + 1, rawLength: (i % 8191) + 33 };
}

describe('BlobTable (the master index, blob id → place)', () => {
  it('finds every one of 100k ids with its own fields through several growths, and no id it was not given', () => {
    const table = new BlobTable();
    const ids = Array.from({ length: 100_000 }, () => randomBytes(32).toString('hex'));
    ids.forEach((id, i) => expect(table.add(id, entry(i))).toBe(true));
    expect(table.size).toBe(100_000);
    for (let i = 0; i < ids.length; i += 997) expect(table.get(ids[i]!)).toEqual(entry(i));
    expect(ids.every((id) => table.has(id))).toBe(true);
    for (let k = 0; k < 1000; k++) expect(table.has(randomBytes(32).toString('hex'))).toBe(false);
  });

  it('keeps the first entry of an id (a blob stored twice: the first location loaded wins)', () => {
    const table = new BlobTable();
    const id = randomBytes(32).toString('hex');
    expect(table.add(id, entry(1))).toBe(true);
    expect(table.add(id, entry(2))).toBe(false);
    expect(table.get(id)).toEqual(entry(1));
    expect(table.size).toBe(1);
  });

  it('tells apart ids that share their first bytes (the hash key) and differ only at the end', () => {
    const table = new BlobTable();
    const prefix = 'ab'.repeat(31);
    const ids = Array.from({ length: 256 }, (_, i) => prefix + i.toString(16).padStart(2, '0'));
    ids.forEach((id, i) => table.add(id, entry(i)));
    ids.forEach((id, i) => expect(table.get(id)).toEqual(entry(i)));
    expect(table.has(`${prefix}zz`)).toBe(false);
  });

  it('keeps ids that are not 64 lowercase hex characters as they are, apart from the hex ones', () => {
    const table = new BlobTable();
    const hex = 'c0'.repeat(32);
    table.add(hex, entry(1));
    table.add(hex.toUpperCase(), entry(2));
    table.add('a1', entry(3));
    table.add('', entry(4));
    expect([table.get(hex), table.get(hex.toUpperCase()), table.get('a1'), table.get('')]).toEqual([entry(1), entry(2), entry(3), entry(4)]);
    expect(table.add('a1', entry(5))).toBe(false);
    expect(table.size).toBe(4);
    expect(table.has('c0'.repeat(31))).toBe(false);
  });
});

import { createHash } from 'node:crypto';
import { isEbmError, TreeEntry } from '@ebm/sdk';
import { blockImageFields, readBlockMap } from './block-map';
import { parseBlockModeOptions } from './block-options';
import { parseByteSize } from './byte-size';

const id = (n: number): string => createHash('sha256').update(String(n)).digest('hex');
const hash = (n: number): Buffer => createHash('sha256').update(`block ${n}`).digest();

function entry(records: { index: number; blobCount: number }[], contentLength: number, size = 10 * 1024 * 1024): TreeEntry {
  const fields = blockImageFields({ blockSize: 1024 * 1024, size, consistent: true, records: records.map((r) => ({ ...r, hash: hash(r.index) })) }, Array.from({ length: contentLength }, (_, i) => id(i)));
  return { name: 'disk.img', ...fields };
}

describe('the block map', () => {
  it('reads back what was written: indices, blob counts, hashes, size', () => {
    const map = readBlockMap(entry([{ index: 0, blobCount: 2 }, { index: 7, blobCount: 1 }, { index: 9, blobCount: 3 }], 6));
    if (typeof map === 'string') throw new Error(map);
    expect(map.records.map((r) => [r.index, r.blobCount, r.hash.equals(hash(r.index))])).toEqual([[0, 2, true], [7, 1, true], [9, 3, true]]);
    expect(map).toMatchObject({ blockSize: 1024 * 1024, size: 10 * 1024 * 1024, consistent: true });
  });

  it('refuses maps that do not describe the entry', () => {
    expect(readBlockMap(entry([{ index: 1, blobCount: 1 }], 2))).toMatch(/names 1 blobs but the entry has 2/);
    expect(readBlockMap(entry([{ index: 3, blobCount: 1 }, { index: 2, blobCount: 1 }], 2))).toMatch(/ascending/);
    expect(readBlockMap(entry([{ index: 10, blobCount: 1 }], 1))).toMatch(/block 10 of a file of 10 blocks/);
    expect(readBlockMap(entry([{ index: 0, blobCount: 0 }], 0))).toMatch(/no blobs/);
    const e = entry([{ index: 0, blobCount: 1 }], 1);
    expect(readBlockMap({ ...e, meta: { ...e.meta, version: 2 } })).toMatch(/version 2/);
    expect(readBlockMap({ ...e, meta: { ...e.meta, map: 'AAAA' } })).toMatch(/not a multiple of 40/);
    expect(readBlockMap({ ...e, kind: 'file' })).toMatch(/file entry/);
  });
});

describe('block-mode options', () => {
  it('reads sizes as operators write them', () => {
    expect([parseByteSize('64MiB'), parseByteSize('1M'), parseByteSize('512k'), parseByteSize('4096'), parseByteSize('1.5GiB'), parseByteSize('lots')]).toEqual([
      64 * 2 ** 20, 2 ** 20, 512 * 1024, 4096, 1.5 * 2 ** 30, undefined,
    ]);
  });

  it('is off without patterns or a minimum size, and splits comma-separated patterns', () => {
    expect(parseBlockModeOptions({})).toBeUndefined();
    expect(parseBlockModeOptions({ 'block-mode': ['*.img,*.qcow2', ' *.vhd '] })).toMatchObject({ patterns: ['*.img', '*.qcow2', '*.vhd'], minSize: undefined, blockSize: 2 ** 20, retries: 3, reflink: true, extents: 'auto' });
  });

  it('refuses bad values with E_INVALID_OPTION naming the option', () => {
    const refused = (raw: Parameters<typeof parseBlockModeOptions>[0]): string => {
      try {
        parseBlockModeOptions(raw);
      } catch (err) {
        if (isEbmError(err) && err.code === 'E_INVALID_OPTION') return err.message;
        throw err;
      }
      throw new Error('accepted');
    };
    expect(refused({ 'block-mode': '*.img', 'block-mode-block-size': '3MiB' })).toMatch(/--block-mode-block-size must be a power of two/);
    expect(refused({ 'block-mode': '*.img', 'block-mode-block-size': '64MiB' })).toMatch(/from 4 KiB to 16 MiB, got 64 MiB/);
    expect(refused({ 'block-mode-min-size': 'big' })).toMatch(/--block-mode-min-size must be a size/);
    expect(refused({ 'block-mode': '*.img', 'block-mode-extents': 'fiemap' })).toMatch(/"auto" or "scan"/);
    expect(refused({ 'block-mode-block-size': '1MiB' })).toMatch(/needs block mode/);
  });
});

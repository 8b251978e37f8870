import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createMemoryRepository, JsonValue } from '@ebm/sdk';
import { backupOk, removeAll, restoreOk, tempDir } from '../testing/harness';
import { allocatedBytes, GiB, makeSparseFile, MiB, patternBytes, sparseDigest, treeEntries, writeAt } from '../testing/sparse-image';
import { nativeExtentsUnavailable } from './extents';
import { readBlockMap } from './block-map';

type Summary = Record<string, JsonValue>;
const blockMode = (meta: { readonly [key: string]: JsonValue } | undefined): Summary => (meta?.['blockMode'] ?? {}) as Summary;

/**
 * Block mode end to end through the real SDK runtime and real sparse files:
 * a 4 GiB VM-style image (64 MiB of data in 16 runs), 1 % of its 4096
 * blocks changed between backups. The repository uses the default chunker
 * sizes, so the stored bytes are what a real repository would store.
 */
describe('block mode: a sparse 4 GiB image', () => {
  let work: string;
  let source: string;
  let image: string;
  const SIZE = 4 * GiB;
  const runs = Array.from({ length: 16 }, (_, k) => k * 256 * MiB + 8 * MiB);

  beforeAll(async () => {
    work = await tempDir('block');
    source = path.join(work, 'vms');
    await fsp.mkdir(source);
    image = path.join(source, 'disk.img');
    makeSparseFile(image, SIZE, runs.map((offset, k) => [offset, patternBytes(4 * MiB, k + 1)] as const));
    await fsp.writeFile(path.join(source, 'notes.txt'), 'not a block-mode file');
  });
  afterAll(() => removeAll(work));

  it('stores only the data, reads no hole, stores ~1 % after 1 % of blocks change, and restores every snapshot identical and sparse', async () => {
    expect(nativeExtentsUnavailable()).toBeUndefined(); // built by the root postinstall (scripts/build-native-extents.js)
    const repo = createMemoryRepository();
    const options = { 'block-mode': '*.img', 'block-mode-min-size': '1MiB' };
    const first = await backupOk(repo, { source, options });
    const digest1 = sparseDigest(image);
    expect(first.warnings).toEqual([]);
    expect(blockMode(first.meta)).toMatchObject({
      filesRead: 1, extents: ['seek-data'], source: ['live'], blocks: 4096, blocksRead: 64, holesUnread: 4096 - 64, bytesRead: 64 * MiB, blocksStored: 64, inconsistent: [],
    });
    expect(first.outcome.stats.putBytes).toBeGreaterThanOrEqual(64 * MiB);
    expect(first.outcome.stats.putBytes).toBeLessThan(65 * MiB);
    const entry = treeEntries(repo, first.tree).find((e) => e.name === 'disk.img')!;
    expect(entry.kind).toBe('block-image');
    expect(treeEntries(repo, first.tree).find((e) => e.name === 'notes.txt')!.kind).toBe('file');
    const map = readBlockMap(entry);
    expect(typeof map === 'string' ? map : map.records.map((r) => r.index)).toEqual(runs.flatMap((o) => [0, 1, 2, 3].map((i) => o / MiB + i)));

    // 1 % of the 4096 blocks: 25 data blocks get a 4 KiB write, 16 hole blocks get a full new block.
    const changedData = Array.from({ length: 25 }, (_, i) => runs[i % 16]! + Math.floor(i / 16) * MiB + 256 * 1024);
    const filledHoles = runs.map((offset) => offset + 100 * MiB);
    writeAt(image, [
      ...changedData.map((offset, i) => [offset, patternBytes(4096, 1000 + i)] as const),
      ...filledHoles.map((offset, i) => [offset, patternBytes(MiB, 2000 + i)] as const),
    ]);
    const digest2 = sparseDigest(image);
    const second = await backupOk(repo, { source, options, parentTree: first.tree });
    expect(second.warnings).toEqual([]);
    expect(blockMode(second.meta)).toMatchObject({ blocksRead: 80, bytesRead: 80 * MiB, blocksStored: 41, blocksReused: 64 - 25 });
    // About 1 % of the image: at most the 41 changed blocks plus the changed trees, at least the 16 new ones.
    const added = second.outcome.stats.putBytes;
    expect(added).toBeGreaterThanOrEqual(16 * MiB);
    expect(added).toBeLessThanOrEqual(41 * MiB + 256 * 1024);
    expect(added / SIZE).toBeLessThan(0.0101);

    // An unchanged image is reused whole: not even opened.
    const third = await backupOk(repo, { source, options, parentTree: second.tree });
    expect(blockMode(third.meta)).toMatchObject({ filesRead: 0, filesReused: 1, bytesRead: 0 });
    expect(third.outcome.stats.dataPuts).toBe(0);

    for (const [tree, digest, name] of [[first.tree, digest1, 'one'], [second.tree, digest2, 'two']] as const) {
      const target = path.join(work, `restored-${name}`);
      await restoreOk(repo, { tree, target });
      const restored = path.join(target, 'disk.img');
      expect((await fsp.stat(restored)).size).toBe(SIZE);
      expect(sparseDigest(restored)).toBe(digest);
      // Sparse: no more allocated than the data (the 4 KiB-granular zero skip may make it less).
      expect(allocatedBytes(restored)).toBeLessThanOrEqual(allocatedBytes(image));
      expect(allocatedBytes(restored)).toBeGreaterThanOrEqual((name === 'one' ? 64 : 80) * MiB);
      expect(await fsp.readFile(path.join(target, 'notes.txt'), 'utf8')).toBe('not a block-mode file');
      await removeAll(target);
    }
  });
});

describe('block mode: the pure fallback and file selection', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('block-fallback');
  });
  afterEach(() => removeAll(work));

  it('with block-mode-extents=scan reads every block, still stores no hole, and restores identical and sparse', async () => {
    const source = path.join(work, 'src');
    await fsp.mkdir(source);
    const image = path.join(source, 'guest.qcow2');
    // 256 MiB logical: 8 MiB of data, and one allocated all-zero block (stored as a hole too).
    makeSparseFile(image, 256 * MiB + 12345, [[0, patternBytes(4 * MiB, 7)], [100 * MiB, Buffer.alloc(MiB)], [252 * MiB, patternBytes(4 * MiB + 12345, 8)]]);
    const repo = createMemoryRepository();
    const scanned = await backupOk(repo, { source, options: { 'block-mode': ['*.img', '*.qcow2'], 'block-mode-extents': 'scan' } });
    expect(blockMode(scanned.meta)).toMatchObject({ extents: ['zero-scan'], blocks: 257, blocksRead: 257, holesUnread: 0, bytesRead: 256 * MiB + 12345, blocksStored: 9 });
    expect(scanned.outcome.stats.putBytes).toBeLessThan(8 * MiB + 12345 + 64 * 1024);

    const auto = await backupOk(createMemoryRepository(), { source, options: { 'block-mode': '*.qcow2' } });
    expect(blockMode(auto.meta)).toMatchObject({ extents: ['seek-data'], blocksRead: 10, zeroBlocks: 1, blocksStored: 9 });

    const target = path.join(work, 'out');
    await restoreOk(repo, { tree: scanned.tree, target });
    const restored = path.join(target, 'guest.qcow2');
    expect(sparseDigest(restored)).toBe(sparseDigest(image));
    expect((await fsp.stat(restored)).size).toBe(256 * MiB + 12345);
    expect(allocatedBytes(restored)).toBeLessThanOrEqual(allocatedBytes(image) - MiB); // the allocated zero block is a hole now
  });

  it('selects by pattern and size: small or non-matching files stay ordinary files', async () => {
    const source = path.join(work, 'src');
    await fsp.mkdir(source);
    await fsp.writeFile(path.join(source, 'small.img'), patternBytes(100 * 1024, 1));
    await fsp.writeFile(path.join(source, 'large.img'), patternBytes(3 * MiB, 2));
    await fsp.writeFile(path.join(source, 'large.bin'), patternBytes(3 * MiB, 3));
    const repo = createMemoryRepository();
    const both = await backupOk(repo, { source, options: { 'block-mode': '*.img', 'block-mode-min-size': '1MiB' } });
    const kinds = (tree: string): Record<string, string> => Object.fromEntries(treeEntries(repo, tree).map((e) => [e.name, e.kind]));
    expect(kinds(both.tree)).toEqual({ 'large.bin': 'file', 'large.img': 'block-image', 'small.img': 'file' });
    const sizeOnly = await backupOk(repo, { source, options: { 'block-mode-min-size': '1MiB' } });
    expect(kinds(sizeOnly.tree)).toEqual({ 'large.bin': 'block-image', 'large.img': 'block-image', 'small.img': 'file' });
    const none = await backupOk(repo, { source });
    expect(kinds(none.tree)).toEqual({ 'large.bin': 'file', 'large.img': 'file', 'small.img': 'file' });
    expect(none.meta?.['blockMode']).toBeUndefined();
  });
});

import { MemoryBackend } from '../backend/memory-backend';
import { newTestRepository } from './blob-store.test-support';
import { writeIndexFiles } from './index-file';
import { MasterIndex } from './master-index';

const hex = (c: string): string => c.repeat(64);

describe('MasterIndex', () => {
  it('merges every index file: lookup, has, packs; the first location of a duplicate wins', async () => {
    const repo = await newTestRepository(new MemoryBackend());
    await writeIndexFiles(repo, [{ id: hex('a'), blobs: [{ id: hex('1'), kind: 'data', offset: 0, length: 40, rawLength: 5 }] }]);
    await writeIndexFiles(repo, [{ id: hex('b'), blobs: [{ id: hex('2'), kind: 'tree', offset: 0, length: 50, rawLength: 9 }, { id: hex('3'), kind: 'data', offset: 50, length: 30, rawLength: 1 }] }]);
    const index = await MasterIndex.load(repo);
    expect(index.size).toBe(3);
    expect(index.indexIds()).toHaveLength(2);
    expect(index.lookup(hex('2'))).toEqual({ pack: hex('b'), kind: 'tree', offset: 0, length: 50, rawLength: 9 });
    expect(index.has(hex('1'))).toBe(true);
    expect(index.has(hex('4'))).toBe(false);
    expect(index.lookup(hex('4'))).toBeUndefined();
    expect(index.packs().sort()).toEqual([hex('a'), hex('b')]);
    index.addPack(hex('c'), [{ id: hex('1'), kind: 'data', offset: 7, length: 40, rawLength: 5 }, { id: hex('4'), kind: 'data', offset: 47, length: 30, rawLength: 1 }]);
    expect(index.lookup(hex('1'))!.pack).toBe(hex('a'));
    expect(index.lookup(hex('4'))!.pack).toBe(hex('c'));
    expect(index.hasPack(hex('c'))).toBe(true);
  });

  it('throws E_CORRUPT_OBJECT naming a damaged index file, or reports it to onCorrupt and loads the rest', async () => {
    const backend = new MemoryBackend();
    const repo = await newTestRepository(backend);
    const [good] = await writeIndexFiles(repo, [{ id: hex('a'), blobs: [{ id: hex('1'), kind: 'data', offset: 0, length: 40, rawLength: 5 }] }]);
    const [bad] = await writeIndexFiles(repo, [{ id: hex('b'), blobs: [{ id: hex('2'), kind: 'data', offset: 0, length: 40, rawLength: 5 }] }]);
    const bytes = await backend.load({ type: 'index', name: bad! });
    bytes[30]! ^= 0xff;
    await backend.save({ type: 'index', name: bad! }, bytes);
    await expect(MasterIndex.load(repo)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(bad!) });
    const corrupt: string[] = [];
    const index = await MasterIndex.load(repo, { onCorrupt: (id) => corrupt.push(id) });
    expect(corrupt).toEqual([bad]);
    expect(index.indexIds()).toEqual([good]);
    expect(index.has(hex('1'))).toBe(true);
    expect(index.has(hex('2'))).toBe(false);
  });

  it('loadShared keeps one index per repository object: later calls read only new index files, and load everything again after a prune removed one', async () => {
    const backend = new MemoryBackend();
    const repo = await newTestRepository(backend);
    const blob = (c: string) => ({ id: hex(c), kind: 'data' as const, offset: 0, length: 40, rawLength: 5 });
    const [first] = await writeIndexFiles(repo, [{ id: hex('a'), blobs: [blob('1')] }]);
    const index = await MasterIndex.loadShared(repo);
    expect(index.has(hex('1'))).toBe(true);

    // Another writer (another process, another repository object on the same storage) adds an index file.
    const reads: string[] = [];
    const loadJsonFile = repo.loadJsonFile.bind(repo);
    const counting = Object.create(repo) as typeof repo;
    Object.defineProperty(counting, 'loadJsonFile', { value: (type: 'index', name: string) => (reads.push(name), loadJsonFile(type, name)) });
    await writeIndexFiles(repo, [{ id: hex('b'), blobs: [blob('2')] }]);
    const again = await MasterIndex.loadShared(repo);
    expect(again).toBe(index);
    expect(again.has(hex('2'))).toBe(true);
    expect(again.indexIds()).toHaveLength(2);

    // Files this process wrote itself and marked merged are not read again; an unchanged listing reads nothing.
    const shared = await MasterIndex.loadShared(counting);
    const [own] = await writeIndexFiles(counting, [{ id: hex('c'), blobs: [blob('3')] }]);
    shared.addPack(hex('c'), [blob('3')]);
    shared.markMerged([own!]);
    await MasterIndex.loadShared(counting);
    expect(reads.filter((r) => r === own)).toEqual([]);
    expect(reads).toHaveLength(2); // the counting view's first load read a and b once; its own c never

    // A prune rewrote the index: a merged file is gone, so everything is loaded again, without the removed pack.
    await backend.remove({ type: 'index', name: first! });
    const fresh = await MasterIndex.loadShared(repo);
    expect(fresh).not.toBe(index);
    expect(fresh.has(hex('1'))).toBe(false);
    expect(fresh.has(hex('2'))).toBe(true);
  });
});

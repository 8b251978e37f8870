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
});

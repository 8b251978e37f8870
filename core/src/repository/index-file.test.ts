import { MemoryBackend } from '../backend/memory-backend';
import { newTestRepository } from './blob-store.test-support';
import { readIndexFile, validateIndexFile, writeIndexFiles } from './index-file';
import type { IndexedPack } from './index-file';

const hex = (c: string): string => c.repeat(64);
const pack = (c: string, n: number): IndexedPack => ({
  id: hex(c),
  blobs: Array.from({ length: n }, (_, i) => ({ id: i.toString(16).padStart(64, '0'), kind: 'data' as const, offset: i * 30, length: 30, rawLength: 1 })),
});

describe('index files', () => {
  it('are written as encrypted JSON {v:1, supersedes?, packs} and read back validated', async () => {
    const repo = await newTestRepository(new MemoryBackend());
    const [id] = await writeIndexFiles(repo, [pack('a', 2)], [hex('9')]);
    const file = await readIndexFile(repo, id!);
    expect(file).toEqual({ v: 1, supersedes: [hex('9')], packs: [pack('a', 2)] });
    const [plain] = await writeIndexFiles(repo, [pack('b', 1)]);
    expect(await readIndexFile(repo, plain!)).toEqual({ v: 1, packs: [pack('b', 1)] });
  });

  it('split into several files when the blobs exceed the per-file limit, never splitting a pack', async () => {
    const repo = await newTestRepository(new MemoryBackend());
    const ids = await writeIndexFiles(repo, [pack('a', 3), pack('b', 3), pack('c', 3)], undefined, 5);
    expect(ids).toHaveLength(3);
    const files = await Promise.all(ids.map((id) => readIndexFile(repo, id)));
    expect(files.map((f) => f.packs.map((p) => p.id))).toEqual([[hex('a')], [hex('b')], [hex('c')]]);
    expect(await writeIndexFiles(repo, [])).toEqual([]);
  });

  it('reject malformed content and damaged files with E_CORRUPT_OBJECT naming the index file', async () => {
    const bad = [
      null, { v: 2, packs: [] }, { v: 1 }, { v: 1, packs: [{ id: 'xyz', blobs: [] }] },
      { v: 1, packs: [{ id: hex('a'), blobs: [{ id: hex('b'), kind: 'weird', offset: 0, length: 1, rawLength: 1 }] }] },
      { v: 1, packs: [{ id: hex('a'), blobs: [{ id: hex('b'), kind: 'data', offset: -1, length: 1, rawLength: 1 }] }] },
      { v: 1, supersedes: ['nope'], packs: [] },
    ];
    for (const value of bad) {
      expect(() => validateIndexFile(value, 'idx-1')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('index file idx-1') }));
    }
    const backend = new MemoryBackend();
    const repo = await newTestRepository(backend);
    const [id] = await writeIndexFiles(repo, [pack('a', 1)]);
    const bytes = await backend.load({ type: 'index', name: id! });
    bytes[bytes.length - 1]! ^= 1;
    await backend.save({ type: 'index', name: id! }, bytes);
    await expect(readIndexFile(repo, id!)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', subject: id, message: expect.stringContaining(`index file ${id}`) });
  });
});

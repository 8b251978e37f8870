import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { computeBlobId } from '@ebm/sdk';
import { compress } from 'zstd-napi';
import type { Handle } from '../backend/backend';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { BlobStore } from './blob-store';
import { CrashingBackend, flipByte, listing, newTestRepository, TEST_PASSWORD, testBytes } from './blob-store.test-support';
import { readIndexFile } from './index-file';
import { MasterIndex } from './master-index';
import { Repository } from './repository';

async function saveAll(store: BlobStore, repo: Repository, blobs: readonly Buffer[], kind: 'data' | 'tree' = 'data'): Promise<string[]> {
  const ids: string[] = [];
  for (const b of blobs) {
    const id = computeBlobId(repo.keys.id, b);
    await store.saveBlob(kind, id, b);
    ids.push(id);
  }
  return ids;
}

/** Temporary files in a local repository's data/ (packs being built in place). */
async function spoolFiles(repo: Repository): Promise<string[]> {
  return (await fsp.readdir(path.join(repo.backend.location, 'data'))).filter((name) => name.startsWith('.tmp-'));
}

describe('BlobStore on a local directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-blob-store-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('stores blobs in packs, indexes them on flush, and loads the same bytes in a new session; known blobs are not stored again', async () => {
    const repo = await newTestRepository(new LocalBackend(path.join(dir, 'repo')), 8192);
    const store = await BlobStore.open(repo);
    const data = Array.from({ length: 30 }, (_, i) => testBytes(1000 + i, i % 2 === 0));
    const trees = Array.from({ length: 5 }, () => testBytes(300, true));
    const dataIds = await saveAll(store, repo, data);
    const treeIds = await saveAll(store, repo, trees, 'tree');
    const flushed = await store.flush();
    expect(flushed.indexId).toMatch(/^[0-9a-f]{64}$/);
    expect(store.stats().blobsAdded).toBe(35);
    expect(store.stats().packsWritten).toBe(flushed.packs.length);
    expect((await listing(repo.backend, 'data')).map((l) => l.split(':')[0]).sort()).toEqual([...flushed.packs].sort());
    expect(await spoolFiles(repo)).toEqual([]); // packs were built in data/ and moved into place

    const index = await readIndexFile(repo, flushed.indexId!);
    const kindsPerPack = index.packs.map((p) => new Set(p.blobs.map((b) => b.kind)));
    expect(kindsPerPack.every((kinds) => kinds.size === 1)).toBe(true); // data and tree never share a pack
    expect(index.packs.flatMap((p) => p.blobs).length).toBe(35);

    const reopened = await Repository.open(new LocalBackend(path.join(dir, 'repo')), TEST_PASSWORD);
    const again = await BlobStore.open(reopened);
    for (const [i, id] of dataIds.entries()) expect(await again.loadBlob(id)).toEqual(data[i]);
    for (const [i, id] of treeIds.entries()) expect(await again.loadBlob(id)).toEqual(trees[i]);
    expect(await again.saveBlob('data', dataIds[0]!, data[0]!)).toEqual({ stored: false, storedBytes: 0 });
    expect(await again.flush()).toEqual({ indexIds: [], packs: [] });
    expect(again.stats()).toEqual({ blobsAdded: 0, bytesAdded: 0, packsWritten: 0 });
  });

  it('abort removes the packs no index names and keeps those an intermediate flush indexed', async () => {
    const repo = await newTestRepository(new LocalBackend(path.join(dir, 'repo')), 4096);
    const before = await saveAll(await BlobStore.open(repo), repo, []);
    expect(before).toEqual([]);
    const untouched = { data: await listing(repo.backend, 'data'), index: await listing(repo.backend, 'index') };

    // A job that fails without any intermediate flush leaves the repository exactly as before.
    const failed = await BlobStore.open(repo);
    await saveAll(failed, repo, Array.from({ length: 20 }, () => testBytes(1500)));
    expect((await listing(repo.backend, 'data')).length).toBeGreaterThan(0);
    expect((await spoolFiles(repo)).length).toBeGreaterThan(0); // the open pack (and any being saved), built in place
    await failed.abort();
    expect({ data: await listing(repo.backend, 'data'), index: await listing(repo.backend, 'index') }).toEqual(untouched);
    expect(await spoolFiles(repo)).toEqual([]);
    await expect(failed.saveBlob('data', computeBlobId(repo.keys.id, Buffer.from('x')), Buffer.from('x'))).rejects.toMatchObject({ code: 'E_CANCELLED' });

    // With an automatic flush every 2 packs, the indexed packs stay and only the rest go.
    const partial = await BlobStore.open(repo, { flushEveryPacks: 2 });
    const ids = await saveAll(partial, repo, Array.from({ length: 12 }, () => testBytes(1500)));
    expect((await listing(repo.backend, 'index')).length).toBeGreaterThan(0);
    await partial.abort();
    const index = await MasterIndex.load(repo);
    const packsOnDisk = (await listing(repo.backend, 'data')).map((l) => l.split(':')[0]).sort();
    expect(packsOnDisk).toEqual(index.packs().sort());
    const survivors = ids.filter((id) => index.has(id));
    expect(survivors.length).toBeGreaterThan(0);
    expect(survivors.length).toBeLessThan(ids.length);
    const reader = await BlobStore.open(repo);
    for (const id of survivors) expect(computeBlobId(repo.keys.id, await reader.loadBlob(id))).toBe(id);
  });
});

describe('BlobStore', () => {
  it('refuses a blob whose id does not match its content (E_PROTOCOL) and stores nothing', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const wrong = computeBlobId(repo.keys.id, Buffer.from('other'));
    await expect(store.saveBlob('data', wrong, Buffer.from('content'))).rejects.toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining(wrong) });
    expect(store.has(wrong)).toBe(false);
    expect(await store.flush()).toEqual({ indexIds: [], packs: [] });
  });

  it('stores a blob the plugin compressed (codec 1) after decompressing and re-hashing it, and reads back the plaintext', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const plaintext = Buffer.from('a line that compresses well\n'.repeat(2000));
    const id = computeBlobId(repo.keys.id, plaintext);
    const frame = compress(plaintext, { compressionLevel: 3 });
    const saved = await store.saveBlob('data', id, frame, 1);
    expect(saved.stored).toBe(true);
    expect(saved.storedBytes).toBeLessThan(frame.length + 64);
    await store.flush();
    const reopened = await BlobStore.open(repo);
    expect((await reopened.loadBlob(id)).equals(plaintext)).toBe(true);
  });

  it('stores a codec-2 blob (plaintext the plugin found not worth compressing) as is, without compressing it again, still re-hashed', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const plaintext = Buffer.from('compressible, but sent as not worth it\n'.repeat(2000));
    const id = computeBlobId(repo.keys.id, plaintext);
    const saved = await store.saveBlob('data', id, plaintext, 2);
    expect(saved.stored).toBe(true);
    expect(saved.storedBytes).toBeGreaterThan(plaintext.length); // as is: codec byte, nonce and tag around the plaintext
    const wrong = computeBlobId(repo.keys.id, Buffer.from('other'));
    await expect(store.saveBlob('data', wrong, plaintext, 2)).rejects.toMatchObject({ code: 'E_PROTOCOL' });
    await store.flush();
    const reopened = await BlobStore.open(repo);
    expect((await reopened.loadBlob(id)).equals(plaintext)).toBe(true);
    expect((await BlobStore.open(repo)).has(wrong)).toBe(false);
  });

  it('refuses a compressed blob that lies about its id, or whose frame is broken (E_PROTOCOL), and stores nothing', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const plaintext = Buffer.from('payload '.repeat(1000));
    const otherId = computeBlobId(repo.keys.id, Buffer.from('something else'));
    await expect(store.saveBlob('data', otherId, compress(plaintext, {}), 1)).rejects.toMatchObject({ code: 'E_PROTOCOL' });
    const id = computeBlobId(repo.keys.id, plaintext);
    await expect(store.saveBlob('data', id, Buffer.from('not a zstd frame at all'), 1)).rejects.toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('zstd') });
    expect(store.has(id)).toBe(false);
    expect(await store.flush()).toEqual({ indexIds: [], packs: [] });
  });

  it('deduplicates within a session, also under concurrent saves', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const distinct = Array.from({ length: 50 }, () => testBytes(700));
    const offered = [...distinct, ...distinct, ...distinct];
    const results = await Promise.all(offered.map((b) => store.saveBlob('data', computeBlobId(repo.keys.id, b), b)));
    expect(results.filter((r) => r.stored)).toHaveLength(50);
    expect(store.stats().blobsAdded).toBe(50);
    expect(store.stats().bytesAdded).toBe(results.reduce((n, r) => n + r.storedBytes, 0));
    const { indexId } = await store.flush();
    expect((await readIndexFile(repo, indexId!)).packs.flatMap((p) => p.blobs)).toHaveLength(50);
    for (const b of distinct) expect(await store.loadBlob(computeBlobId(repo.keys.id, b))).toEqual(b);
  });

  it('loads blobs of this session before they are indexed (open pack and saved pack)', async () => {
    const repo = await newTestRepository(new MemoryBackend(), 4096);
    const store = await BlobStore.open(repo);
    const blobs = Array.from({ length: 6 }, () => testBytes(1500));
    const ids = await saveAll(store, repo, blobs, 'tree');
    expect(ids.every((id) => store.has(id))).toBe(true);
    for (const [i, id] of ids.entries()) expect(await store.loadBlob(id)).toEqual(blobs[i]);
    expect(await MasterIndex.load(repo).then((x) => x.size)).toBe(0);
  });

  it('takeBlob hands over bytes the caller owns outright: moving them to another thread leaves the store (and its tree cache) intact', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const compressible = Buffer.from('a line that compresses well\n'.repeat(3000));
    const incompressible = testBytes(50_000);
    const [zstdId, rawId] = await saveAll(store, repo, [compressible, incompressible]);
    const tree = Buffer.from(JSON.stringify({ v: 1, entries: [{ name: 'x'.repeat(5000) }] }));
    const [treeId] = await saveAll(store, repo, [tree], 'tree');
    await store.flush();

    const reader = await BlobStore.open(repo);
    const { port1, port2 } = new MessageChannel();
    const moved = (bytes: Buffer): Promise<Uint8Array> =>
      new Promise((resolve) => {
        port2.once('message', resolve);
        port1.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
      });
    try {
      for (const [id, original] of [[zstdId!, compressible], [rawId!, incompressible], [treeId!, tree]] as const) {
        const taken = await reader.takeBlob(id);
        expect(taken.equals(original)).toBe(true);
        expect(taken.buffer.byteLength).toBeLessThanOrEqual(taken.length + 1); // its own ArrayBuffer (a raw body keeps the codec byte before it)
        const arrived = await moved(taken);
        expect(taken.buffer.byteLength).toBe(0); // detached here: moved, not copied
        expect(Buffer.from(arrived).equals(original)).toBe(true);
        expect((await reader.loadBlob(id)).equals(original)).toBe(true); // nothing the store keeps went with it
      }
      // A tree now comes from the cache: takeBlob copies it, so moving it leaves the cached bytes.
      await moved(await reader.takeBlob(treeId!));
      expect((await reader.loadBlob(treeId!)).equals(tree)).toBe(true);
      // Into an array the caller supplies (a restore ring's region): data blobs only, never a cached tree.
      const ring = new Uint8Array(new SharedArrayBuffer(200_000));
      const asked: number[] = [];
      const into = (length: number): Uint8Array => {
        asked.push(length);
        return ring.subarray(1000, 1000 + length);
      };
      for (const [id, original] of [[zstdId!, compressible], [rawId!, incompressible]] as const) {
        const decoded = await reader.takeBlob(id, into);
        expect(decoded.buffer).toBe(ring.buffer);
        expect(decoded.byteOffset).toBe(1000);
        expect(decoded.equals(original)).toBe(true);
      }
      expect((await reader.takeBlob(treeId!, into)).equals(tree)).toBe(true);
      expect(asked).toEqual([compressible.length, incompressible.length]);
    } finally {
      port1.close();
    }
  });

  it('loadBlob: E_BLOB_NOT_FOUND for an unknown id, E_CORRUPT_OBJECT naming blob and pack for damage', async () => {
    const repo = await newTestRepository();
    const store = await BlobStore.open(repo);
    const [id] = await saveAll(store, repo, [testBytes(2000)]);
    const { packs } = await store.flush();
    await expect(store.loadBlob('f'.repeat(64))).rejects.toMatchObject({ code: 'E_BLOB_NOT_FOUND', message: expect.stringContaining('f'.repeat(64)) });
    await flipByte(repo.backend, { type: 'data', name: packs[0]! }, 100);
    const fresh = await BlobStore.open(repo);
    const err = await fresh.loadBlob(id!).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_CORRUPT_OBJECT' });
    expect((err as Error).message).toContain(id);
    expect((err as Error).message).toContain(packs[0]);
    await repo.backend.remove({ type: 'data', name: packs[0]! });
    await expect(fresh.loadBlob(id!)).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining(packs[0]!) });
  });

  it('writes an index on its own every N packs, so a long job survives a crash', async () => {
    const repo = await newTestRepository(new MemoryBackend(), 4096);
    const store = await BlobStore.open(repo, { flushEveryPacks: 3 });
    const ids = await saveAll(store, repo, Array.from({ length: 30 }, () => testBytes(1500)));
    const index = await MasterIndex.load(repo);
    expect(index.indexIds().length).toBeGreaterThanOrEqual(3);
    expect(ids.filter((id) => index.has(id)).length).toBeGreaterThanOrEqual(18);

    // Concurrent callers crossing the threshold request one index write, not one each.
    const concurrent = await BlobStore.open(repo, { flushEveryPacks: 3 });
    const blobs = Array.from({ length: 60 }, () => testBytes(1500));
    await Promise.all(blobs.map((b) => concurrent.saveBlob('data', computeBlobId(repo.keys.id, b), b)));
    const { packs } = await concurrent.flush();
    const written = (await MasterIndex.load(repo)).indexIds().length - index.indexIds().length;
    const total = concurrent.stats().packsWritten;
    expect(total).toBeGreaterThanOrEqual(25);
    expect(written).toBeLessThanOrEqual(Math.ceil(total / 3) + 1);
    expect(packs.length).toBeLessThan(total);
  });

  it('bounds the packs being saved at once and surfaces a failed save; abort then restores the repository', async () => {
    class SlowBackend extends CrashingBackend {
      active = 0;
      maxActive = 0;
      override async save(handle: Handle, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
        if (handle.type !== 'data') return super.save(handle, data);
        this.maxActive = Math.max(this.maxActive, ++this.active);
        await new Promise((r) => setTimeout(r, 5));
        try {
          await super.save(handle, data);
        } finally {
          this.active--;
        }
      }
    }
    const inner = new MemoryBackend();
    await newTestRepository(inner, 4096);
    const slow = new SlowBackend(inner, Number.MAX_SAFE_INTEGER);
    const repo = await Repository.open(slow, TEST_PASSWORD);
    const store = await BlobStore.open(repo, { maxPacksInFlightPerKind: 2 });
    await saveAll(store, repo, Array.from({ length: 40 }, () => testBytes(1500)));
    await store.flush();
    expect(slow.maxActive).toBeGreaterThan(1); // pipelined
    expect(slow.maxActive).toBeLessThanOrEqual(3); // bounded: 2 in flight, plus the one just finished

    const before = { data: await listing(inner, 'data'), index: await listing(inner, 'index') };
    const crashing = new CrashingBackend(inner, 3);
    const repo2 = await Repository.open(crashing, TEST_PASSWORD);
    const failing = await BlobStore.open(repo2);
    const attempt = saveAll(failing, repo2, Array.from({ length: 40 }, () => testBytes(1500))).then(() => failing.flush());
    await expect(attempt).rejects.toThrow(/simulated crash/);
    crashing.failAt = Number.MAX_SAFE_INTEGER;
    await failing.abort();
    expect({ data: await listing(inner, 'data'), index: await listing(inner, 'index') }).toEqual(before);
  });
});

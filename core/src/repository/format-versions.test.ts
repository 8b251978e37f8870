import { computeBlobId } from '@ebm/sdk';
import { MemoryBackend } from '../backend/memory-backend';
import { checkRepository } from '../checker/check';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { BlobStore } from './blob-store';
import { backupFiles, restoreFiles, testBytes, TEST_PASSWORD } from './blob-store.test-support';
import { Repository } from './repository';
import { REPOSITORY_FORMAT_VERSION } from './types';

/**
 * Format version 2 seals every blob with its id as associated data; version
 * 1 did not, so its reads re-hash every blob. Both are read and written, each
 * in its own version, on real repositories (in memory).
 */
async function repositoryOfVersion(formatVersion: number, backend = new MemoryBackend()): Promise<Repository> {
  return Repository.init(backend, TEST_PASSWORD, { kdf: FAST_TEST_SCRYPT_PARAMS, packTargetSize: 64 * 1024, formatVersion });
}

/** Swaps the stored bytes of two blobs of the same stored length in their pack (as someone with write access to the storage could). */
async function swapBlobs(repo: Repository, a: string, b: string): Promise<void> {
  const { index } = await BlobStore.open(repo);
  const la = index.lookup(a)!;
  const lb = index.lookup(b)!;
  expect(la.pack).toBe(lb.pack);
  expect(la.length).toBe(lb.length);
  const handle = { type: 'data', name: la.pack } as const;
  const pack = await repo.backend.load(handle);
  const swapped = Buffer.from(pack);
  pack.copy(swapped, la.offset, lb.offset, lb.offset + lb.length);
  pack.copy(swapped, lb.offset, la.offset, la.offset + la.length);
  await repo.backend.remove(handle);
  await repo.backend.save(handle, swapped);
}

describe('repository format versions', () => {
  it(`a new repository is version ${REPOSITORY_FORMAT_VERSION} and binds blob ids; a version-1 repository stays version 1 when reopened and written`, async () => {
    const current = await Repository.init(new MemoryBackend(), TEST_PASSWORD, { kdf: FAST_TEST_SCRYPT_PARAMS });
    expect(current.config.version).toBe(2);
    expect(current.bindsBlobIds).toBe(true);

    const backend = new MemoryBackend();
    const old = await repositoryOfVersion(1, backend);
    const files = { 'a.bin': testBytes(5000), 'dir/b.txt': testBytes(9000, true) };
    const first = await backupFiles(old, files);
    const reopened = await Repository.open(backend, TEST_PASSWORD);
    expect(reopened.config.version).toBe(1);
    expect(reopened.bindsBlobIds).toBe(false);
    const second = await backupFiles(reopened, { ...files, 'c.bin': testBytes(3000) });
    expect(await restoreFiles(reopened, first.id)).toEqual(files);
    expect(await restoreFiles(reopened, second.id)).toEqual({ ...files, 'c.bin': expect.any(Buffer) });
    expect((await checkRepository(reopened, { readData: true })).errors).toEqual([]);
  });

  it.each([1, 2])('version %i: two stored blobs swapped in their pack fail to load (E_CORRUPT_OBJECT naming the blob), and check --read-data names both', async (version) => {
    const repo = await repositoryOfVersion(version);
    const a = testBytes(4000);
    const b = testBytes(4000);
    const snap = await backupFiles(repo, { 'a.bin': a, 'b.bin': b }, { chunkSize: 4000 });
    const idA = computeBlobId(repo.keys.id, a);
    const idB = computeBlobId(repo.keys.id, b);
    expect(await restoreFiles(repo, snap.id)).toEqual({ 'a.bin': a, 'b.bin': b });

    await swapBlobs(repo, idA, idB);
    // Version 2: the seal no longer matches the id the index gives; version 1: the re-hash does not.
    const why = version === 2 ? 'authentication failed' : 'content does not match its id';
    const store = await BlobStore.open(repo);
    await expect(store.loadBlob(idA)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringMatching(new RegExp(`blob ${idA} in pack [0-9a-f]{64}: ${why}`)) });
    await expect(restoreFiles(repo, snap.id)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT' });
    const report = await checkRepository(repo, { readData: true });
    expect(report.errors.filter((e) => e.kind === 'blob').map((e) => e.subject).sort()).toEqual([idA, idB].sort());
  });

  it('refuses to create a version it does not know', async () => {
    for (const formatVersion of [0, REPOSITORY_FORMAT_VERSION + 1, 1.5]) {
      await expect(repositoryOfVersion(formatVersion)).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining(`format version ${formatVersion}`) });
    }
  });
});

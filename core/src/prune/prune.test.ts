import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeBlobId } from '@ebm/sdk';
import type { Backend } from '../backend/backend';
import { FILE_TYPES } from '../backend/backend';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { checkRepository } from '../checker/check';
import { backupFiles, CrashingBackend, flipByte, listing, newTestRepository, packBytes, restoreFiles, TEST_PASSWORD, testBytes } from '../repository/blob-store.test-support';
import type { TestFiles } from '../repository/blob-store.test-support';
import { MasterIndex } from '../repository/master-index';
import { blobAad, sealBlob } from '../repository/pack-format';
import { PackWriter } from '../repository/pack-writer';
import { Repository } from '../repository/repository';
import { loadSnapshot, removeSnapshot } from '../snapshots/snapshot-store';
import { prune } from './prune';

/**
 * Two snapshots sharing some content, the first one forgotten: afterwards
 * some packs are wholly unused, some partly (to be rewritten), some used.
 * Plus one pack no index names, as a crashed backup leaves it.
 */
async function forgottenSnapshotRepository(backend: Backend): Promise<{ repo: Repository; keptId: string; keptFiles: TestFiles; leftover: string }> {
  const repo = await newTestRepository(backend, 4096);
  const shared = testBytes(6000);
  const gone = await backupFiles(repo, { 'shared.bin': shared, 'old/a': testBytes(9000), 'old/b': testBytes(3000, true) }, { chunkSize: 700 });
  const keptFiles: TestFiles = { 'shared.bin': shared, 'new/c': testBytes(4000), 'new/deep/d': testBytes(500) };
  const kept = await backupFiles(repo, keptFiles, { chunkSize: 700 });
  await removeSnapshot(repo, gone.id);
  const writer = new PackWriter(repo.cipher, 4096);
  const plain = testBytes(800);
  const id = computeBlobId(repo.keys.id, plain);
  writer.add('data', id, sealBlob(repo.cipher, 3, plain, blobAad(repo, id)), plain.length);
  const [pack] = writer.finishAll();
  await backend.save({ type: 'data', name: pack!.name }, pack!.contents);
  return { repo, keptId: kept.id, keptFiles, leftover: pack!.name };
}

async function cloneBackend(from: Backend): Promise<MemoryBackend> {
  const to = new MemoryBackend();
  await to.create();
  for (const type of FILE_TYPES) {
    for await (const f of from.list(type)) await to.save({ type, name: f.name }, await from.load({ type, name: f.name }));
  }
  return to;
}

async function state(backend: Backend): Promise<Record<string, string[]>> {
  return { data: await listing(backend, 'data'), index: await listing(backend, 'index'), snapshots: await listing(backend, 'snapshots') };
}

describe('prune', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-prune-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('after forgetting a snapshot, shrinks the repository; check passes and the remaining snapshot restores byte for byte', async () => {
    const { repo, keptId, keptFiles, leftover } = await forgottenSnapshotRepository(new LocalBackend(path.join(dir, 'repo')));
    const before = await packBytes(repo.backend);
    const indexFilesBefore = (await listing(repo.backend, 'index')).length;
    const report = await prune(repo);
    const after = await packBytes(repo.backend);
    expect(after).toBeLessThan(before);
    expect(report.bytesFreed).toBe(before - after);
    expect(report.packsDeleted).toBeGreaterThan(1); // wholly unused packs and the leftover
    expect(report.packsRewritten).toBeGreaterThan(0);
    expect(report.blobsRemoved).toBeGreaterThan(0);
    expect(report.indexFilesDeleted).toBe(indexFilesBefore);
    expect((await listing(repo.backend, 'data')).some((l) => l.startsWith(leftover))).toBe(false);

    const check = await checkRepository(repo, { readData: true });
    expect(check.errors).toEqual([]);
    expect(check.unreferencedPacks).toEqual([]);
    expect(await restoreFiles(repo, keptId)).toEqual(keptFiles);

    // Nothing left to do: a second prune changes nothing.
    const snapshotOfState = await state(repo.backend);
    expect(await prune(repo)).toMatchObject({ packsDeleted: 0, packsRewritten: 0, blobsRemoved: 0, bytesFreed: 0 });
    expect(await state(repo.backend)).toEqual(snapshotOfState);
  });

  it('--dry-run reports what a real prune does and changes nothing', async () => {
    const { repo } = await forgottenSnapshotRepository(new MemoryBackend());
    const before = await state(repo.backend);
    const dry = await prune(repo, { dryRun: true });
    expect(await state(repo.backend)).toEqual(before);
    const real = await prune(repo);
    expect({ ...dry, bytesFreed: 0, packsWritten: 0 }).toEqual({ ...real, bytesFreed: 0, packsWritten: 0 });
    expect(dry.packsWritten).toBeGreaterThan(0);
    expect(Math.abs(dry.bytesFreed - real.bytesFreed)).toBeLessThan(real.bytesFreed * 0.2 + 2000);
  });

  it('removes a leftover pack no index names, and everything once no snapshot is left', async () => {
    const { repo, keptId, leftover } = await forgottenSnapshotRepository(new MemoryBackend());
    await removeSnapshot(repo, keptId);
    const report = await prune(repo);
    expect(await state(repo.backend)).toEqual({ data: [], index: [], snapshots: [] });
    expect(report.packsRewritten).toBe(0);
    expect(report.packsDeleted).toBeGreaterThan(1);
    expect(leftover).toMatch(/^[0-9a-f]{64}$/);
  });

  it('removes the temporary files interrupted writes left in data/ (a pack being built in place, a save cut short), and nothing else', async () => {
    const { repo, keptId, keptFiles } = await forgottenSnapshotRepository(new LocalBackend(path.join(dir, 'repo')));
    const data = path.join(dir, 'repo', 'data');
    const [fanout] = (await fsp.readdir(data)).filter((name) => !name.startsWith('.'));
    await fsp.writeFile(path.join(data, '.tmp-pack-4242-0123456789ab'), Buffer.alloc(5000)); // a killed backup's open pack
    await fsp.writeFile(path.join(data, fanout!, '.tmp-0123456789abcdef'), Buffer.alloc(300)); // a save cut short
    await fsp.writeFile(path.join(dir, 'repo', 'snapshots', '.tmp-fedcba9876543210'), 'x'); // not data/: left alone
    const dryRun = await prune(repo, { dryRun: true });
    expect(dryRun.temporaryFilesDeleted).toBe(0);
    expect((await fsp.readdir(data)).filter((name) => name.startsWith('.tmp-'))).toHaveLength(1);
    const report = await prune(repo);
    expect(report.temporaryFilesDeleted).toBe(2);
    expect(report.bytesFreed).toBeGreaterThanOrEqual(5300);
    expect((await fsp.readdir(data)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    expect(await fsp.readdir(path.join(data, fanout!))).not.toContainEqual(expect.stringMatching(/^\.tmp-/));
    expect(await fsp.readdir(path.join(dir, 'repo', 'snapshots'))).toContain('.tmp-fedcba9876543210');
    expect((await checkRepository(repo, { readData: true })).ok).toBe(true);
    expect(await restoreFiles(repo, keptId)).toEqual(keptFiles);
  });

  it('refuses to run, changing nothing, when a snapshot or a tree cannot be read', async () => {
    const { repo, keptId } = await forgottenSnapshotRepository(new MemoryBackend());
    const before = await state(repo.backend);
    await flipByte(repo.backend, { type: 'snapshots', name: keptId }, 50);
    await expect(prune(repo)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(keptId) });
    await flipByte(repo.backend, { type: 'snapshots', name: keptId }, 50);
    expect(await state(repo.backend)).toEqual(before);

    // A damaged tree: the walk cannot see what it references, so nothing may be deleted.
    const root = (await loadSnapshot(repo, keptId)).tree;
    const loc = (await MasterIndex.load(repo)).lookup(root)!;
    await flipByte(repo.backend, { type: 'data', name: loc.pack }, loc.offset + 20);
    const damaged = await state(repo.backend);
    await expect(prune(repo)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(root) });
    expect(await state(repo.backend)).toEqual(damaged);
  });

  it('interrupted at any step, leaves a repository that check accepts and whose snapshot fully restores', async () => {
    const base = new MemoryBackend();
    const { keptId, keptFiles } = await forgottenSnapshotRepository(base);

    // Count the mutating steps of a complete prune.
    const counting = new CrashingBackend(await cloneBackend(base), Number.MAX_SAFE_INTEGER);
    await prune(await Repository.open(counting, TEST_PASSWORD));
    const steps = counting.mutations;
    expect(steps).toBeGreaterThan(5); // new packs, index, old index removals, pack removals

    for (let k = 1; k <= steps; k++) {
      const inner = await cloneBackend(base);
      const crashing = new CrashingBackend(inner, k);
      await expect(prune(await Repository.open(crashing, TEST_PASSWORD))).rejects.toThrow(/simulated crash/);
      const repo = await Repository.open(inner, TEST_PASSWORD);
      const check = await checkRepository(repo, { readData: true });
      expect({ k, errors: check.errors }).toEqual({ k, errors: [] });
      expect(await restoreFiles(repo, keptId)).toEqual(keptFiles);
      // The next prune finishes the job.
      await prune(repo);
      expect((await checkRepository(repo)).errors).toEqual([]);
      expect(await restoreFiles(repo, keptId)).toEqual(keptFiles);
    }
  });
});

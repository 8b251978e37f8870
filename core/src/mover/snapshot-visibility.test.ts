import 'reflect-metadata';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { BackupService } from '../backup/backup-service';
import { checkRepository } from '../checker/check';
import { createContainer } from '../container';
import { HostEvents } from '../events/host-events';
import { generateSampleTree } from '../demo/sample-tree';
import { PluginHost } from '../plugin-host/plugin-host';
import { BlobStore } from '../repository/blob-store';
import { backupFiles, newTestRepository, restoreFiles, testBytes } from '../repository/blob-store.test-support';
import { listSnapshots } from '../snapshots/snapshot-store';
import { createDataMover } from './data-mover';
import { FaultyBackend, names } from './fault-backend.test-support';

/**
 * "A snapshot becomes visible only after all its data is verified stored":
 * real repositories over a data mover whose backend corrupts pack writes.
 */
const files = { 'a.bin': testBytes(9000), 'dir/b.txt': testBytes(6000, true), 'dir/c': testBytes(3000) };
const isPack = (h: { type: string }): boolean => h.type === 'data';

describe('snapshot visibility through the data mover (BlobStore + saveSnapshot)', () => {
  it('a pack that never verifies fails the backup: no index, no snapshot, no pack left', async () => {
    const store = new MemoryBackend();
    const faulty = new FaultyBackend(store);
    const mover = createDataMover(faulty, { retry: { attempts: 3, backoffMs: 1 } });
    const repo = await newTestRepository(mover);
    faulty.corruptSaves(Number.MAX_SAFE_INTEGER, isPack);
    const blobs = await BlobStore.open(repo);
    await expect(backupFiles(repo, files, { store: blobs })).rejects.toMatchObject({
      code: 'E_STORAGE_IO',
      message: expect.stringContaining('failed verification'),
    });
    await blobs.abort();
    expect(faulty.corrupted.length).toBeGreaterThanOrEqual(3);
    expect(await names(store, 'snapshots')).toEqual([]);
    expect(await names(store, 'index')).toEqual([]);
    expect(await names(store, 'data')).toEqual([]);
    expect(mover.metrics.failures).toBeGreaterThanOrEqual(1);
  });

  it('a pack corrupted once is sent again, and the snapshot that follows restores byte for byte', async () => {
    const store = new MemoryBackend();
    const faulty = new FaultyBackend(store);
    const mover = createDataMover(faulty, { retry: { attempts: 3, backoffMs: 1 } });
    const repo = await newTestRepository(mover);
    faulty.corruptSaves(1, isPack);
    const snap = await backupFiles(repo, files);
    expect(faulty.corrupted).toHaveLength(1);
    expect(mover.metrics.verificationFailures).toBe(1);
    expect(await names(store, 'snapshots')).toEqual([snap.id]);
    expect(await restoreFiles(repo, snap.id)).toEqual(files);
    const report = await checkRepository(repo, { readData: true });
    expect(report.errors).toEqual([]);
    expect(report.unreferencedPacks).toEqual([]);
  });
});

describe('snapshot visibility through the data mover (BackupService, filesystem translator, LocalBackend)', () => {
  let dir: string;
  const container = createContainer();
  afterAll(async () => {
    await container.resolve(PluginHost).close();
  });
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-mover-visibility-'));
    await generateSampleTree(path.join(dir, 'source'), { files: 60 });
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a backup whose pack writes keep failing verification fails and leaves no snapshot; the next one succeeds', async () => {
    const local = new LocalBackend(path.join(dir, 'repo'));
    const faulty = new FaultyBackend(local);
    const mover = createDataMover(faulty, { retry: { attempts: 2, backoffMs: 1 } });
    const repo = await newTestRepository(mover, 64 * 1024);
    const backup = container.resolve(BackupService);
    const request = { repository: repo, translator: 'filesystem', source: path.join(dir, 'source'), dataset: 'sample' };

    faulty.corruptSaves(Number.MAX_SAFE_INTEGER, isPack);
    await expect(backup.backup(request)).rejects.toMatchObject({ code: 'E_STORAGE_IO', message: expect.stringContaining('gave up after 2 attempts') });
    expect((await listSnapshots(repo)).snapshots).toEqual([]);
    expect(await names(local, 'snapshots')).toEqual([]);
    expect(await names(local, 'index')).toEqual([]);
    expect(await names(local, 'data')).toEqual([]);
    expect(await names(local, 'locks')).toEqual([]);

    faulty.corruptSaves(0);
    const report = await backup.backup(request);
    expect((await listSnapshots(repo)).snapshots.map((s) => s.id)).toEqual([report.snapshotId]);
    const check = await checkRepository(repo, { readData: true });
    expect(check.errors).toEqual([]);
  });

  it('a cancel that arrives while the final packs and index are written still leaves no snapshot', async () => {
    const local = new LocalBackend(path.join(dir, 'repo'));
    const controller = new AbortController();
    // Armed once the translator's job has finished: the first save after that (the final flush) cancels.
    let armed = false;
    container.resolve(HostEvents).once('job:finished', () => (armed = true));
    let savesAfterCancel = 0;
    class CancelInFlush extends FaultyBackend {
      override save(handle: Parameters<FaultyBackend['save']>[0], data: Parameters<FaultyBackend['save']>[1]): Promise<void> {
        if (armed) {
          controller.abort();
          savesAfterCancel++;
        }
        return super.save(handle, data);
      }
    }
    const repo = await newTestRepository(createDataMover(new CancelInFlush(local)));
    const backup = container.resolve(BackupService);
    await expect(backup.backup({ repository: repo, translator: 'filesystem', source: path.join(dir, 'source'), dataset: 'sample', signal: controller.signal }))
      .rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(savesAfterCancel).toBeGreaterThan(0); // the cancel did land after the translator finished
    expect((await listSnapshots(repo)).snapshots).toEqual([]);
    expect(await names(local, 'locks')).toEqual([]);
    const check = await checkRepository(repo, { readData: true });
    expect(check.errors).toEqual([]);
  });
});

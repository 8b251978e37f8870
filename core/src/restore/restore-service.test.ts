import 'reflect-metadata';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupService } from '../backup/backup-service';
import { createContainer } from '../container';
import { generateSampleTree } from '../demo/sample-tree';
import { acquireLock } from '../locks/lock';
import { PluginHost } from '../plugin-host/plugin-host';
import { LocalBackend } from '../backend/local-backend';
import { newTestRepository } from '../repository/blob-store.test-support';
import { listSnapshots } from '../snapshots/snapshot-store';
import { RestoreService } from './restore-service';

/** RestoreService over a real repository on disk and the real filesystem translator in a worker thread. */
describe('RestoreService', () => {
  let dir: string;
  let container = createContainer();
  beforeEach(async () => {
    container = createContainer(); // a host of its own per test: its worker threads are this test's
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-restore-service-'));
    await generateSampleTree(path.join(dir, 'source'), { files: 20 });
  });
  afterEach(async () => {
    await container.resolve(PluginHost).close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("starts the translator's worker before it takes the lock, so the worker's start-up overlaps loading the index", async () => {
    const repo = await newTestRepository(new LocalBackend(path.join(dir, 'repo')), 64 * 1024);
    await container.resolve(BackupService).backup({ repository: repo, translator: 'filesystem', source: path.join(dir, 'source'), dataset: 'sample' });
    const [snapshot] = (await listSnapshots(repo)).snapshots;
    const host = container.resolve(PluginHost);
    await host.close(); // the backup's worker is gone: any worker from now on is the restore's
    container = createContainer();
    const restore = container.resolve(RestoreService);
    expect(container.resolve(PluginHost).workerThreads('filesystem')).toBe(0);

    // Held by a prune: the restore fails at the lock, before any index is loaded or job is run.
    const prune = await acquireLock(repo, { exclusive: true, operation: 'prune' });
    try {
      await expect(restore.restore({ repository: repo, snapshot: snapshot!, target: path.join(dir, 'target') })).rejects.toMatchObject({ code: 'E_REPOSITORY_LOCKED' });
    } finally {
      await prune.release();
    }
    expect(container.resolve(PluginHost).workerThreads('filesystem')).toBe(1);
    await expect(fsp.readdir(path.join(dir, 'target'))).rejects.toMatchObject({ code: 'ENOENT' }); // nothing was written

    // The restore that follows runs on that warm thread and writes the tree.
    const result = await restore.restore({ repository: repo, snapshot: snapshot!, target: path.join(dir, 'target') });
    expect(result.files).toBeGreaterThanOrEqual(20);
    expect(container.resolve(PluginHost).workerThreads('filesystem')).toBe(1);
  });
});

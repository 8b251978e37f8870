import { loadSnapshot } from '../snapshots/snapshot-store';
import { backupRequest, finished, Runtime, startRuntime } from './queue.test-support';

/**
 * Baseline or incremental, per dataset (docs/runtime.md, "Controller"): the
 * first backup of a dataset is its baseline, later ones are incremental
 * against its latest snapshot, and `full` forces a baseline read — a new
 * baseline that reads every file again and records no parent. Real
 * filesystem translator, real files, through the queue and the executor.
 */
describe('JobQueue backups: baseline, incremental and full', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ queue: { budgets: { workers: 2, memoryMiB: 1024 } } });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('a full backup of a dataset that has a snapshot reads every file again and is a baseline (no parent)', async () => {
    const { queue } = rt;
    const files = 6;
    const [source] = await rt.datasets(1, files);
    const repo = rt.repos.get('main')!;
    const backup = async (full: boolean) => {
      const record = await finished(queue, queue.submit(backupRequest('home', source!, { full })).job);
      expect(record.state).toBe('done');
      return { result: record.result!, snapshot: await loadSnapshot(repo, String(record.result!['snapshotId'])) };
    };

    const first = await backup(false);
    expect(first.snapshot.parent).toBeUndefined();
    expect(first.snapshot.summary).toMatchObject({ files, filesRead: files, filesReused: 0 });

    const incremental = await backup(false);
    expect(incremental.snapshot.parent).toBe(first.snapshot.id);
    expect(incremental.result['parent']).toBe(first.snapshot.id);
    expect(incremental.snapshot.summary).toMatchObject({ files, filesRead: 0, filesReused: files });

    const full = await backup(true);
    expect(full.snapshot.id).not.toBe(incremental.snapshot.id);
    expect(full.snapshot.summary).toMatchObject({ files, filesRead: files, filesReused: 0 });
    expect(full.snapshot.parent).toBeUndefined();
    expect(full.result['parent']).toBeUndefined();
    // Same content, so deduplication stores nothing new even though every file was read.
    expect(full.snapshot.summary.bytesAdded).toBe(0);

    // A later incremental is against the latest snapshot, the full one.
    const after = await backup(false);
    expect(after.snapshot.parent).toBe(full.snapshot.id);
    expect(after.snapshot.summary).toMatchObject({ filesRead: 0, filesReused: files });
  });
});

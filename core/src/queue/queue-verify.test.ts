import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Job } from '../jobs/job';
import type { JobRequest } from '../jobs/job-types';
import { listSnapshots } from '../snapshots/snapshot-store';
import { backupRequest, finished, observed, Runtime, startRuntime } from './queue.test-support';

/** The packs each flip has seen, so the next flip damages only packs written since. */
const packsSeen = new Set<string>();

/** Flips one byte in the middle of the largest pack written since the previous flip (the latest backup's). */
async function flipByteInNewestPack(repoDir: string): Promise<void> {
  const packs: Array<{ file: string; size: number }> = [];
  for (const sub of await fs.readdir(path.join(repoDir, 'data'))) {
    for (const name of await fs.readdir(path.join(repoDir, 'data', sub))) {
      const file = path.join(repoDir, 'data', sub, name);
      if (!packsSeen.has(file)) packs.push({ file, size: (await fs.stat(file)).size });
      packsSeen.add(file);
    }
  }
  const { file, size } = packs.sort((a, b) => b.size - a.size)[0]!;
  const handle = await fs.open(file, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, Math.floor(size / 2));
  byte[0] = byte[0]! ^ 0x01;
  await handle.write(byte, 0, 1, Math.floor(size / 2));
  await handle.close();
}

describe('JobQueue post-processing verification (serial lane)', () => {
  let rt: Runtime;
  const events: string[] = [];
  let verifying = 0;
  let maxVerifying = 0;
  beforeAll(async () => {
    rt = await startRuntime({
      repositories: ['main', 'other'],
      queue: { budgets: { workers: 2, memoryMiB: 1024 } },
      wrap: (real) =>
        observed(real, {
          run: (job: Job) => void events.push(`run:${(job.request as { dataset: string }).dataset}`),
          verify: async (job: Job) => {
            events.push(`verify:${(job.request as { dataset: string }).dataset}`);
            maxVerifying = Math.max(maxVerifying, ++verifying);
            if (job.request.repository === 'other') await flipByteInNewestPack(path.join(rt.dir, 'repos', 'other'));
          },
          afterVerify: () => void verifying--,
        }),
    });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('verifies one backup at a time, after the backups queued before it', async () => {
    const { queue } = rt;
    const requests = Array.from({ length: 6 }, (_, i) => backupRequest(`v${i}`, `/virtual/v${i}`, { translator: 'ok', verify: true }));
    const jobs = requests.map((r) => queue.submit(r).job);
    const sawVerifying = new Set<string>();
    queue.events.on('job:state', ({ job, to }) => void (to === 'verifying' && sawVerifying.add(job.id)));
    const records = await Promise.all(jobs.map((j) => finished(queue, j)));

    expect(records.map((r) => r.state)).toEqual(Array(6).fill('done'));
    expect(sawVerifying.size).toBe(6);
    expect(maxVerifying).toBe(1);
    const firstVerify = events.findIndex((e) => e.startsWith('verify:'));
    expect(events.slice(0, firstVerify).filter((e) => e.startsWith('run:'))).toHaveLength(6);
    for (const r of records) {
      const v = r.result?.verification as { packsRead: number; blobsRead: number; snapshotId: string };
      expect(v.snapshotId).toBe(r.result?.snapshotId);
      expect(v.packsRead).toBeGreaterThanOrEqual(1);
      expect(v.blobsRead).toBeGreaterThanOrEqual(3);
    }
  });

  it('fails the job when the data it wrote is damaged before verification (a flipped byte)', async () => {
    const { queue } = rt;
    const job = queue.submit({ ...backupRequest('victim', '/virtual/victim', { translator: 'ok', verify: true }), repository: 'other' } as JobRequest).job;
    const record = await finished(queue, job);
    expect(record.state).toBe('failed');
    expect(record.error?.code).toBe('E_CHECK_FAILED');
    expect(record.error?.message).toMatch(/verification of snapshot [0-9a-f]{12} \(dataset victim\) (found|failed)/);
    expect(record.result?.snapshotId).toEqual(expect.any(String));
  });

  it('verifies backups of real files through the real filesystem translator, serially, and catches a flipped byte in their pack', async () => {
    const { queue } = rt;
    const sources = await rt.datasets(4, 12);
    const before = maxVerifying;
    const jobs = sources.map((source, i) => queue.submit(backupRequest(`real${i}`, source, { verify: true })).job);
    const victim = queue.submit({ ...backupRequest('real-victim', sources[0]!, { verify: true }), repository: 'other' } as JobRequest).job;
    const sawVerifying = new Set<string>();
    queue.events.on('job:state', ({ job, to }) => void (to === 'verifying' && sawVerifying.add(job.id)));
    const records = await Promise.all(jobs.map((j) => finished(queue, j)));

    expect(records.map((r) => [r.request.kind === 'backup' && r.request.translator, r.state])).toEqual(Array(4).fill(['filesystem', 'done']));
    expect(jobs.every((j) => sawVerifying.has(j.id))).toBe(true);
    expect(Math.max(before, maxVerifying)).toBe(1);
    const { snapshots } = await listSnapshots(rt.repos.get('main')!);
    for (const [i, r] of records.entries()) {
      const v = r.result?.verification as { packsRead: number; blobsRead: number; snapshotId: string };
      const snapshot = snapshots.find((s) => s.id === v.snapshotId)!;
      expect([snapshot.dataset, snapshot.source, snapshot.summary.files]).toEqual([`real${i}`, sources[i], 12]);
      expect(v.packsRead).toBeGreaterThanOrEqual(1);
      expect(v.blobsRead).toBeGreaterThanOrEqual(12); // every file's content (distinct per file) and the trees
    }
    // The hook flips a byte in a pack of repository "other" the backup just wrote, before its verification.
    const damaged = await finished(queue, victim);
    expect(damaged.state).toBe('failed');
    expect(damaged.error?.code).toBe('E_CHECK_FAILED');
    expect(damaged.error?.message).toMatch(/verification of snapshot [0-9a-f]{12} \(dataset real-victim\) (found|failed)/);
  });

  it('runs a second backup of a dataset after the first, and forget + prune alone on the repository', async () => {
    const { queue } = rt;
    const running = new Set<string>();
    let overlap = false;
    queue.events.on('job:state', ({ job, from, to }) => {
      if (job.request.repository !== 'main') return;
      if (to === 'running') {
        if (job.request.kind !== 'backup' ? running.size > 0 : running.has('forget') || running.has(job.request.dataset)) overlap = true;
        running.add(job.request.kind === 'backup' ? job.request.dataset : 'forget');
      } else if (from === 'running') running.delete(job.request.kind === 'backup' ? job.request.dataset : 'forget');
    });
    const first = queue.submit(backupRequest('twice', '/virtual/twice', { translator: 'ok' })).job;
    const second = queue.submit(backupRequest('twice', '/virtual/twice', { translator: 'ok', tags: ['second'] })).job;
    const forget = queue.submit({ kind: 'forget', repository: 'main', dataset: 'twice', policy: { keepLast: 1 }, prune: true, priority: 0 }).job;
    const other = queue.submit(backupRequest('alongside', '/virtual/alongside', { translator: 'ok' })).job;
    const [, s, f, o] = await Promise.all([first, second, forget, other].map((j) => finished(queue, j)));
    expect([s!.state, f!.state, o!.state]).toEqual(['done', 'done', 'done']);
    expect(s!.result?.parent).toBe((await finished(queue, first)).result?.snapshotId);
    expect(f!.result?.snapshotsRemoved).toBe(1);
    expect(overlap).toBe(false);
    const { snapshots } = await listSnapshots(rt.repos.get('main')!);
    expect(snapshots.filter((x) => x.dataset === 'twice').map((x) => x.tags)).toEqual([['second']]);
  });
});

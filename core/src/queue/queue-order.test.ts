import { listSnapshots } from '../snapshots/snapshot-store';
import type { JobRequest } from '../jobs/job-types';
import { backupRequest, finished, reaches, Runtime, startRuntime } from './queue.test-support';

/** A job that runs until it is cancelled (the flaky fixture waits for its signal). */
const blocker = (dataset = 'blocker', extra: Partial<Extract<JobRequest, { kind: 'backup' }>> = {}): JobRequest =>
  backupRequest(dataset, '/virtual/blocker', { translator: 'flaky', options: { mode: 'wait-for-cancel' }, ...extra });
const ok = (dataset: string, priority = 0): JobRequest => backupRequest(dataset, `/virtual/${dataset}`, { translator: 'ok', priority });

describe('JobQueue order, cancellation and deadlines (one worker)', () => {
  let rt: Runtime;
  const started: string[] = [];
  beforeAll(async () => {
    rt = await startRuntime({ queue: { budgets: { workers: 1, memoryMiB: 1024 }, agingIntervalMs: 50 } });
    rt.queue.events.on('job:state', ({ job, to }) => {
      if (to === 'running' && job.request.kind === 'backup') started.push(job.request.dataset);
    });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('runs higher priority first, equal priorities in submission order; cancelling a running job leaves no snapshot', async () => {
    const { queue } = rt;
    const block = queue.submit(blocker('blocker-1')).job;
    await reaches(queue, block, 'running');
    started.length = 0;
    const jobs = [ok('p0a', 0), ok('p5a', 5), ok('pm3', -3), ok('p5b', 5), ok('p0b', 0)].map((r) => queue.submit(r).job);
    expect(jobs.every((j) => j.state === 'queued')).toBe(true);
    expect(queue.cancel(block.id)).toBe(true);
    const blocked = await finished(queue, block);
    const records = await Promise.all(jobs.map((j) => finished(queue, j)));

    expect(started).toEqual(['p5a', 'p5b', 'p0a', 'p0b', 'pm3']);
    expect(records.map((r) => r.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(blocked.state).toBe('cancelled');
    expect(blocked.error?.code).toBe('E_CANCELLED');
    expect(blocked.error?.message).toMatch(/cancelled by the operator/);
    const { snapshots } = await listSnapshots(rt.repos.get('main')!);
    expect(snapshots.some((s) => s.dataset === 'blocker-1')).toBe(false);
  });

  it('lets an old low-priority job overtake new high-priority ones (aging)', async () => {
    const { queue } = rt;
    const block = queue.submit(blocker('blocker-2')).job;
    await reaches(queue, block, 'running');
    started.length = 0;
    const low = queue.submit(ok('old-low', -10)).job;
    await new Promise((r) => setTimeout(r, 1000)); // 20 aging intervals: -10 + 20 > 5
    const high = queue.submit(ok('new-high', 5)).job;
    queue.cancel(block.id);
    await Promise.all([finished(queue, low), finished(queue, high)]);
    expect(started).toEqual(['old-low', 'new-high']);
  });

  it('cancels a queued job at once', async () => {
    const { queue } = rt;
    const block = queue.submit(blocker('blocker-3')).job;
    await reaches(queue, block, 'running');
    const waiting = queue.submit(ok('never')).job;
    expect(queue.cancel(waiting.id)).toBe(true);
    expect(waiting.state).toBe('cancelled');
    expect(waiting.attempt).toBe(0);
    expect(queue.cancel(waiting.id)).toBe(false);
    expect(queue.cancel('no-such-job')).toBe(false);
    queue.cancel(block.id);
    await finished(queue, block);
    expect(queue.record(waiting.id)?.state).toBe('cancelled');
  });

  it('stops a job past its deadline, running or still queued: failed with E_DEADLINE_EXCEEDED, not retried', async () => {
    const { queue } = rt;
    const soon = (ms: number): string => new Date(Date.now() + ms).toISOString();
    const running = queue.submit(blocker('deadline-running', { deadline: soon(900) })).job;
    await reaches(queue, running, 'running');
    const queued = queue.submit(ok('deadline-queued', 0)).job;
    const q = queue.submit({ ...ok('deadline-queued-2'), deadline: soon(300) } as JobRequest).job;
    const [r1, r2] = await Promise.all([finished(queue, running), finished(queue, q)]);
    expect(r2.state).toBe('failed');
    expect(r2.attempt).toBe(0);
    expect(r2.error).toMatchObject({ code: 'E_DEADLINE_EXCEEDED', retryable: false });
    expect(r2.error?.message).toMatch(/passed its deadline .* while queued/);
    expect(r1.state).toBe('failed');
    expect(r1.attempt).toBe(1);
    expect(r1.error).toMatchObject({ code: 'E_DEADLINE_EXCEEDED', retryable: false });
    expect(r1.error?.message).toMatch(/passed its deadline .* while running/);
    expect((await finished(queue, queued)).state).toBe('done');
  });
});

describe('JobQueue.close (SIGTERM)', () => {
  it('stops admitting, cancels running jobs after the grace period, leaves queued ones queued', async () => {
    const rt = await startRuntime({ queue: { budgets: { workers: 1, memoryMiB: 1024 } } });
    try {
      const { queue } = rt;
      const running = queue.submit(blocker('closing')).job;
      await reaches(queue, running, 'running');
      const waiting = queue.submit(ok('closing-queued')).job;
      await queue.close({ graceMs: 200 });
      expect(running.state).toBe('cancelled');
      expect(running.error?.message).toMatch(/the host is shutting down and the grace period of 200 ms is over/);
      expect(waiting.state).toBe('queued');
      expect(() => queue.submit(ok('late'))).toThrow(expect.objectContaining({ code: 'E_HOST_SHUTTING_DOWN', message: expect.stringMatching(/refused: the host is shutting down/) }));
    } finally {
      await rt.close();
    }
  });
});

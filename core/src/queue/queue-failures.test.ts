import type { ErrorCode } from '@ebm/sdk';
import type { JobRecord } from '../jobs/job-types';
import { listSnapshots } from '../snapshots/snapshot-store';
import { JobQueue } from './job-queue';
import { backupRequest, finished, Runtime, startRuntime } from './queue.test-support';

/**
 * Real hostile translators in real workers: a plugin that throws fails at
 * once; one whose worker exits, runs out of memory or stalls is retried per
 * the policy and then fails; backups running beside them are not disturbed.
 */
describe('JobQueue failure handling with real failing translators', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ queue: { budgets: { workers: 4, memoryMiB: 4096 }, retry: { attempts: 3, backoffMs: 50, maxBackoffMs: 100 } } });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('retries retryable failures per policy, fails others at once, and leaves other jobs alone', async () => {
    const { queue } = rt;
    const ownPolicy = { attempts: 2, backoffMs: 10, maxBackoffMs: 10 };
    const cases: Array<[string, string, Record<string, string>, ErrorCode | 'done', number]> = [
      ['throws', 'throws', {}, 'E_PLUGIN_FAILED', 1],
      ['exits', 'flaky', { mode: 'exit' }, 'E_PLUGIN_CRASHED', 3],
      ['exits-own-policy', 'flaky', { mode: 'exit' }, 'E_PLUGIN_CRASHED', 2],
      ['oom', 'oom', {}, 'E_PLUGIN_OUT_OF_MEMORY', 3],
      ['hangs', 'hangs', {}, 'E_PLUGIN_TIMEOUT', 3],
      ['fine-1', 'ok', {}, 'done', 1],
      ['fine-2', 'filesystem', {}, 'done', 1],
      ['fine-3', 'ok', {}, 'done', 1],
    ];
    const [source] = await rt.datasets(1);
    const jobs = cases.map(([dataset, translator, options]) =>
      queue.submit(backupRequest(dataset, translator === 'filesystem' ? source! : `/virtual/${dataset}`, { translator, options, ...(dataset === 'exits-own-policy' ? { retry: ownPolicy } : {}) })).job);
    const retriedStates: string[] = [];
    queue.events.on('job:state', ({ job, from, to }) => void (from === 'running' && to === 'queued' && retriedStates.push(job.request.kind === 'backup' ? job.request.dataset : '')));
    const records: JobRecord[] = await Promise.all(jobs.map((j) => finished(queue, j)));

    for (const [i, [dataset, , , expected, attempts]] of cases.entries()) {
      const r = records[i]!;
      expect({ dataset, state: r.state, code: r.error?.code ?? 'done', attempt: r.attempt }).toEqual({ dataset, state: expected === 'done' ? 'done' : 'failed', code: expected, attempt: attempts });
    }
    const exits = records[1]!;
    expect(exits.log.filter((l) => /retrying in \d+ ms/.test(l.message))).toHaveLength(2);
    expect(exits.log.some((l) => /attempt 3 of 3 failed with E_PLUGIN_CRASHED; no attempts left/.test(l.message))).toBe(true);
    // A backup's own retry policy (its dataset's `retry`) replaces the queue's.
    expect(records[2]!.log.some((l) => /attempt 2 of 2 failed with E_PLUGIN_CRASHED; no attempts left/.test(l.message))).toBe(true);
    expect(retriedStates.sort()).toEqual(['exits', 'exits', 'exits-own-policy', 'hangs', 'hangs', 'oom', 'oom']);
    const { snapshots } = await listSnapshots(rt.repos.get('main')!);
    expect(snapshots.map((s) => s.dataset).sort()).toEqual(['fine-1', 'fine-2', 'fine-3']);
    expect(queue.usage()).toEqual({ workers: 0, memoryMiB: 0, ioStreams: {} });
  });

  it('rejects at submit, with the typed E_JOB_REJECTED, a job bigger than the whole budget (naming the budget) and a job for a full queue', () => {
    const small = new JobQueue({ executor: rt.executor, costs: rt.costs, budgets: { workers: 1, memoryMiB: 64 } });
    const huge = (): unknown => small.submit(backupRequest('huge', '/x', { translator: 'filesystem' }));
    expect(huge).toThrow(/backup of dataset "huge" .* rejected: it needs 128 MiB of memory but budgets.memoryMiB is 64; it could never run/);
    expect(huge).toThrow(expect.objectContaining({ code: 'E_JOB_REJECTED', retryable: false }));
    const full = new JobQueue({ executor: rt.executor, costs: rt.costs, maxQueued: 1 });
    const first = full.submit(backupRequest('first', '/virtual/first', { translator: 'ok' })).job;
    expect(() => full.submit(backupRequest('second', '/virtual/second', { translator: 'ok' }))).toThrow(expect.objectContaining({ code: 'E_JOB_REJECTED', message: expect.stringMatching(/rejected: the queue is full \(1 jobs waiting, maxQueued 1\)/) }));
    expect(full.cancel(first.id)).toBe(true);
  });
});

/**
 * A translator that hangs (awaits forever and ignores its cancel signal) past
 * its job's deadline. The stall timeout is set far beyond the deadline, so
 * only the deadline can end the job.
 */
describe('JobQueue deadline with a real hanging translator', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({
      queue: { budgets: { workers: 4, memoryMiB: 4096 }, retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 10 } },
      host: { stallTimeoutMsOverrides: { hangs: 10 * 60_000 } },
    });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('fails the job with E_DEADLINE_EXCEEDED, does not retry it, replaces the worker and leaves other jobs alone', async () => {
    const { queue } = rt;
    const soon = (ms: number): string => new Date(Date.now() + ms).toISOString();
    const [source] = await rt.datasets(1);
    const hung = queue.submit(backupRequest('hung', '/virtual/hung', { translator: 'hangs', deadline: soon(500) })).job;
    const beside = queue.submit(backupRequest('beside', source!, { translator: 'filesystem' })).job;
    const retried: string[] = [];
    queue.events.on('job:state', ({ job, from, to }) => void (from === 'running' && to === 'queued' && retried.push(job.id)));
    const [record, besideRecord] = await Promise.all([finished(queue, hung), finished(queue, beside)]);

    expect(record.state).toBe('failed');
    expect(record.attempt).toBe(1);
    expect(record.error).toMatchObject({ code: 'E_DEADLINE_EXCEEDED', retryable: false, subject: hung.id });
    expect(record.error?.message).toMatch(/passed its deadline .* while running/);
    expect(retried).toEqual([]);
    expect(besideRecord.state).toBe('done');

    // The hung worker was stopped, not left holding the plugin: the same plugin runs again (and is stopped again by its deadline).
    const next = queue.submit(backupRequest('hung-again', '/virtual/hung-again', { translator: 'hangs', deadline: soon(500) })).job;
    const after = queue.submit(backupRequest('after', '/virtual/after', { translator: 'ok' })).job;
    const [nextRecord, afterRecord] = await Promise.all([finished(queue, next), finished(queue, after)]);
    expect({ state: nextRecord.state, code: nextRecord.error?.code, attempt: nextRecord.attempt }).toEqual({ state: 'failed', code: 'E_DEADLINE_EXCEEDED', attempt: 1 });
    expect(afterRecord.state).toBe('done');

    const { snapshots } = await listSnapshots(rt.repos.get('main')!);
    expect(snapshots.map((s) => s.dataset).sort()).toEqual(['after', 'beside']);
    expect(queue.usage()).toEqual({ workers: 0, memoryMiB: 0, ioStreams: {} });
  });
});

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

  it('rejects at submit a job bigger than the whole budget, naming the budget', () => {
    const small = new JobQueue({ executor: rt.executor, costs: rt.costs, budgets: { workers: 1, memoryMiB: 64 } });
    expect(() => small.submit(backupRequest('huge', '/x', { translator: 'filesystem' }))).toThrow(/backup of dataset "huge" .* rejected: it needs 128 MiB of memory but budgets.memoryMiB is 64; it could never run/);
  });
});

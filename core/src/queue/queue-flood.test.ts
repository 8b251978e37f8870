import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isEbmError } from '@ebm/sdk';
import { validateRequest } from '../controller/validate-request';
import type { JobRecord } from '../jobs/job-types';
import { listSnapshots } from '../snapshots/snapshot-store';
import type { JobRequest } from '../jobs/job-types';
import { backupRequest, finished, Runtime, startRuntime } from './queue.test-support';

/**
 * A flood: 200 backup requests of 20 real datasets through the real
 * filesystem translator, submitted at once, with budgets { workers: 2,
 * memoryMiB: 512 }. Budgets hold, datasets never overlap, every request
 * completes or is rejected with a reason, the host stays responsive.
 */
describe('JobQueue under a flood of backup requests', () => {
  let rt: Runtime;
  beforeAll(async () => {
    // I/O streams are not the limit here (one repository): workers and memory are.
    rt = await startRuntime({ queue: { budgets: { workers: 2, memoryMiB: 512, ioStreamsPerRepository: 8 } }, costs: { defaultMemoryMiB: 1024 } });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('keeps to the budgets, one job per dataset, and finishes or rejects every request', async () => {
    const sources = await rt.datasets(20);
    const { queue } = rt;
    const running = new Map<string, { dataset: string; memoryMiB: number; workers: number }>();
    let maxRunning = 0;
    let maxMemory = 0;
    let maxWorkers = 0;
    let overlaps = 0;
    queue.events.on('job:state', ({ job, from, to }) => {
      if (to === 'running') {
        const dataset = job.request.kind === 'backup' ? job.request.dataset : '';
        if ([...running.values()].some((r) => r.dataset === dataset)) overlaps++;
        running.set(job.id, { dataset, memoryMiB: job.cost.memoryMiB, workers: job.cost.workers });
        maxRunning = Math.max(maxRunning, running.size);
        maxMemory = Math.max(maxMemory, [...running.values()].reduce((n, r) => n + r.memoryMiB, 0));
        maxWorkers = Math.max(maxWorkers, [...running.values()].reduce((n, r) => n + r.workers, 0));
      } else if (from === 'running') {
        running.delete(job.id);
      }
    });
    let maxAdmittedMemory = 0;
    queue.queueEvents.on('admit', ({ usage }) => {
      maxAdmittedMemory = Math.max(maxAdmittedMemory, usage.memoryMiB);
    });

    const delay = monitorEventLoopDelay({ resolution: 10 });
    let peakRss = process.memoryUsage.rss();
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 50);
    delay.enable();

    // 200 requests: 180 valid ones (20 datasets × 5 tags, 1-2 copies each, so identical
    // queued requests coalesce), 10 invalid ones (the controller rejects them),
    // 10 for a translator whose cost exceeds the memory budget (the queue rejects them).
    const context = { repositories: ['main'], plugins: rt.registry };
    const inputs: unknown[] = [];
    for (let i = 0; i < 180; i++) {
      const d = i % 20;
      inputs.push({ kind: 'backup', dataset: `ds${d}`, repository: 'main', translator: 'filesystem', source: sources[d], tags: [`t${Math.floor(i / 20) % 5}`], priority: ((d * 7) % 11) - 5 });
    }
    for (let i = 0; i < 10; i++) inputs.push({ kind: 'backup', dataset: `bad${i}`, repository: 'main', source: '/x', priority: 1000 + i });
    for (let i = 0; i < 10; i++) inputs.push({ kind: 'backup', dataset: `big${i}`, repository: 'main', translator: 'throws', source: '/x' });

    const outcomes = inputs.map((input) => {
      try {
        return { result: queue.submit(validateRequest(input, context)) };
      } catch (err) {
        return { rejected: isEbmError(err) ? err.message : String(err) };
      }
    });
    const accepted = outcomes.flatMap((o) => ('result' in o && o.result ? [o.result] : []));
    const rejected = outcomes.flatMap((o) => ('rejected' in o && o.rejected !== undefined ? [o.rejected] : []));
    const records: JobRecord[] = await Promise.all(accepted.map((r) => finished(queue, r.job)));
    delay.disable();
    clearInterval(rssTimer);

    const distinct = new Set(records.map((r) => r.id));
    const { snapshots } = await listSnapshots(rt.repos.get('main')!);
    const p99Ms = delay.percentile(99) / 1e6;
    // eslint-disable-next-line no-console
    console.log(`flood: ${accepted.length} accepted (${distinct.size} jobs, ${accepted.filter((r) => r.coalesced).length} coalesced), ${rejected.length} rejected; max running ${maxRunning}, max memory charged ${maxMemory} MiB; event-loop delay p99 ${p99Ms.toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

    expect(accepted.length + rejected.length).toBe(200);
    expect(rejected).toHaveLength(20);
    expect(rejected.filter((m) => /priority: must be an integer between -100 and 100/.test(m))).toHaveLength(10);
    expect(rejected.filter((m) => /needs 1024 MiB of memory but budgets.memoryMiB is 512/.test(m))).toHaveLength(10);
    expect(records.every((r) => r.state === 'done')).toBe(true);
    expect(accepted.filter((r) => r.coalesced).length).toBeGreaterThan(0);
    expect(snapshots).toHaveLength(distinct.size);
    expect(new Set(snapshots.map((s) => s.dataset)).size).toBe(20);
    expect(overlaps).toBe(0);
    expect(maxRunning).toBe(2);
    expect(maxWorkers).toBeLessThanOrEqual(2);
    expect(maxMemory).toBeLessThanOrEqual(512);
    expect(maxAdmittedMemory).toBeLessThanOrEqual(512);
    expect(queue.usage()).toEqual({ workers: 0, memoryMiB: 0, ioStreams: {} });
    expect(p99Ms).toBeLessThan(500);
    expect(peakRss).toBeLessThan(2 * 1024 * 2 ** 20);
  });

  it('learns what a translator uses per dataset', () => {
    const learned = rt.costs.learned('filesystem', 'ds0');
    expect(learned?.samples).toBeGreaterThan(0);
    expect(learned!.ewmaMiB).toBeGreaterThanOrEqual(0);
  });
});

describe('JobQueue memory and I/O budgets', () => {
  it('admits by memory (128 MiB jobs, 300 MiB budget) and one I/O stream per repository', async () => {
    const rt = await startRuntime({ repositories: ['main', 'other'], queue: { budgets: { workers: 8, memoryMiB: 300, ioStreamsPerRepository: 1 } } });
    try {
      const sources = await rt.datasets(6);
      const running = new Map<string, string>();
      let maxTotal = 0;
      let maxPerRepo = 0;
      rt.queue.events.on('job:state', ({ job, from, to }) => {
        if (to === 'running') running.set(job.id, job.request.repository);
        else if (from === 'running') running.delete(job.id);
        maxTotal = Math.max(maxTotal, running.size);
        for (const repo of ['main', 'other']) maxPerRepo = Math.max(maxPerRepo, [...running.values()].filter((r) => r === repo).length);
      });
      const jobs = sources.map((source, i) => rt.queue.submit({ ...backupRequest(`m${i}`, source), repository: i % 2 ? 'other' : 'main' } as JobRequest).job);
      const records = await Promise.all(jobs.map((j) => finished(rt.queue, j)));
      expect(records.map((r) => r.state)).toEqual(Array(6).fill('done'));
      expect(records.every((r) => r.cost.memoryMiB === 128)).toBe(true);
      expect(maxTotal).toBe(2);
      expect(maxPerRepo).toBe(1);
    } finally {
      await rt.close();
    }
  });
});

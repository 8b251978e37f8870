import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isEbmError } from '@ebm/sdk';
import { validateRequest } from '../controller/validate-request';
import type { JobRecord } from '../jobs/job-types';
import { listSnapshots } from '../snapshots/snapshot-store';
import type { JobRequest } from '../jobs/job-types';
import { backupRequest, finished, Runtime, startRuntime } from './queue.test-support';

const MIB = 2 ** 20;

/** Writes `mib` MiB of incompressible bytes to `file` through one reused 1 MiB buffer (so making the data leaves no garbage behind). */
async function writeRandomFile(file: string, mib: number): Promise<void> {
  const buf = Buffer.allocUnsafe(MIB);
  const fh = await open(file, 'w');
  try {
    for (let i = 0; i < mib; i++) await fh.write(randomFillSync(buf));
  } finally {
    await fh.close();
  }
}

/**
 * A flood: 200 backup requests of 20 real datasets (each a few small text
 * files and one 16 MiB file of incompressible data) through the real
 * filesystem translator, submitted at once, with budgets { workers: 2,
 * memoryMiB: 256 }. Budgets hold — the charged ones and the process's real
 * resident memory —, datasets never overlap, every request completes or is
 * rejected with a reason, the host stays responsive.
 */
describe('JobQueue under a flood of backup requests', () => {
  /** Two filesystem backups at their declared 128 MiB each: workers and memory both bind. */
  const BUDGETS = { workers: 2, memoryMiB: 256, ioStreamsPerRepository: 8 };
  /**
   * The bound on the flood's real memory: the memory budget plus, per worker
   * the budget allows, the fixed cost of a worker thread, which no manifest's
   * memoryMiB covers (that figure is the worker's V8 heap limit, see
   * PluginHost.heapLimitMiB): a Node isolate, its bootstrap, its stacks and
   * the translator's code. Measured: 13-17 MiB per idle piscina worker that
   * loaded the filesystem translator (1, 2, 4 and 8 workers); 32 MiB per
   * worker allowed here, which also covers an idle thread piscina keeps
   * (the host caps a plugin at 4 threads) and main-heap garbage GC has not
   * reclaimed yet (jest runs without --expose-gc).
   *
   * It can fail: with the queue's budgets lifted (workers 100, memoryMiB
   * 100000, 100 I/O streams, so the queue admits every request at once and
   * only per-dataset exclusion and the host's 4-thread cap remain) this flood
   * grew the RSS by 486-488 MiB (about 1370 MiB with a 32-thread host cap),
   * against 164-202 MiB with the budgets below (2-core machine shared with
   * other jobs).
   */
  const RSS_GROWTH_BOUND_MIB = BUDGETS.memoryMiB + BUDGETS.workers * 32;
  let rt: Runtime;
  beforeAll(async () => {
    // I/O streams are not the limit here (one repository): workers and memory are.
    rt = await startRuntime({ queue: { budgets: BUDGETS }, costs: { defaultMemoryMiB: 1024 } });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('keeps to the budgets, one job per dataset, and finishes or rejects every request', async () => {
    const sources = await rt.datasets(20);
    // Real work per job: 16 MiB to chunk, hash, compress, encrypt and pack (320 MiB in all; later,
    // incremental runs of a dataset find it unchanged). With only the small files the jobs use so
    // little memory that no RSS bound at the scale of the budget could tell a flood apart from two jobs.
    for (const source of sources) await writeRandomFile(path.join(source, 'big.bin'), 16);
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
    // The process's real resident memory, sampled every 20 ms from just before the flood (no
    // plugin is loaded yet: the runtime loads translators on first use) to its end.
    const rssBefore = process.memoryUsage.rss();
    let peakRss = rssBefore;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 20);
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
    console.log(`flood: ${accepted.length} accepted (${distinct.size} jobs, ${accepted.filter((r) => r.coalesced).length} coalesced), ${rejected.length} rejected; max running ${maxRunning}, max memory charged ${maxMemory} MiB; event-loop delay p99 ${p99Ms.toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms; peak RSS ${(peakRss / MIB).toFixed(0)} MiB (${(rssBefore / MIB).toFixed(0)} MiB before the flood, peak growth ${((peakRss - rssBefore) / MIB).toFixed(0)} MiB, bound ${RSS_GROWTH_BOUND_MIB} MiB)`);

    expect(accepted.length + rejected.length).toBe(200);
    expect(rejected).toHaveLength(20);
    expect(rejected.filter((m) => /priority: must be an integer between -100 and 100/.test(m))).toHaveLength(10);
    expect(rejected.filter((m) => /needs 1024 MiB of memory but budgets.memoryMiB is 256/.test(m))).toHaveLength(10);
    expect(records.every((r) => r.state === 'done')).toBe(true);
    expect(accepted.filter((r) => r.coalesced).length).toBeGreaterThan(0);
    expect(snapshots).toHaveLength(distinct.size);
    expect(new Set(snapshots.map((s) => s.dataset)).size).toBe(20);
    expect(overlaps).toBe(0);
    expect(maxRunning).toBe(2);
    expect(maxWorkers).toBeLessThanOrEqual(2);
    expect(maxMemory).toBeLessThanOrEqual(BUDGETS.memoryMiB);
    expect(maxAdmittedMemory).toBeLessThanOrEqual(BUDGETS.memoryMiB);
    expect(queue.usage()).toEqual({ workers: 0, memoryMiB: 0, ioStreams: {} });
    expect(p99Ms).toBeLessThan(500);
    // Memory stays inside the budget in fact, not only in the queue's accounts.
    expect((peakRss - rssBefore) / MIB).toBeLessThanOrEqual(RSS_GROWTH_BOUND_MIB);
    expect(peakRss).toBeLessThan(2 * 1024 * MIB);
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

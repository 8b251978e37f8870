/**
 * The idle-memory probe (idle-memory.test.ts): run as its own Node process,
 * it starts a HostRuntime over prepared datasets, backs everything up twice
 * with nothing to do in between, and prints what it measured as one JSON
 * line. A fresh process, because the test reads the process's resident
 * memory: inside jest's shared worker, what earlier test files left in the
 * malloc heap and the collector's queue moves that figure by tens of MiB
 * either way (seen in CI: +67 MiB between two cycles that grow by 11-20 MiB
 * on their own). Not used by production code.
 */
import 'reflect-metadata';
import { parseHostConfig } from '../config/load-config';
import { ManualClock } from '../scheduler/clock';
import { listSnapshots } from '../snapshots/snapshot-store';
import { Logger } from '../logging/logger';
import type { JobRecord } from '../jobs/job-types';
import { HostRuntime } from './host-runtime';

/** What the test prepares: datasets on disk and an initialised repository. */
export interface IdleMemoryProbeInput {
  repoDir: string;
  stateDir: string;
  configFile: string;
  /** The environment variable holding the repository password (set for the child). */
  passwordEnv: string;
  filesystem: Record<string, string>;
  sqlite: Record<string, string>;
  /** The plugin idle timeout (config plugins.idleTimeout). */
  idleTimeout: string;
}

/** One busy period followed by nothing to do. */
export interface IdleMemoryCycle {
  /** `dataset:state` of every job, sorted. */
  jobStates: string[];
  /** Plugins loaded during the busy period (distinct, sorted). */
  loaded: string[];
  /** `plugin:reason` of the unloads that followed (distinct, sorted). */
  unloaded: string[];
  peakRssMiB: number;
  peakThreads: number;
  /** Once every plugin was unloaded: */
  loadedAfter: string[];
  threadsAfter: number;
  usageAfter: unknown;
  idleRssMiB: number;
}

export interface IdleMemoryReport {
  loadedAtStart: string[];
  rssBeforeLoadMiB: number;
  cycles: IdleMemoryCycle[];
  snapshots: number;
}

const MIB = 2 ** 20;
const rssMiB = (): number => process.memoryUsage.rss() / MIB;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The RSS once settled: worker threads end asynchronously after their pool is destroyed, so read it over a second and keep the lowest. */
async function settledRssMiB(): Promise<number> {
  let rss = rssMiB();
  for (let i = 0; i < 10; i++) {
    await sleep(100);
    rss = Math.min(rss, rssMiB());
  }
  return rss;
}

function makeRuntime(input: IdleMemoryProbeInput): HostRuntime {
  const datasetLines = [
    ...Object.entries(input.filesystem).map(([name, source]) => `  ${name}: { translator: filesystem, source: ${source}, repository: main }`),
    ...Object.entries(input.sqlite).map(([name, source]) => `  ${name}: { translator: sqlite, source: ${source}, repository: main }`),
  ];
  const config = parseHostConfig(
    [
      `repositories: { main: { path: ${input.repoDir}, passwordEnv: ${input.passwordEnv} } }`,
      'datasets:',
      ...datasetLines,
      'budgets: { workers: 2, memoryMiB: 512 }',
      `plugins: { idleTimeout: ${input.idleTimeout} }`,
      `state: { dir: ${input.stateDir} }`,
      '',
    ].join('\n'),
    input.configFile,
  );
  return HostRuntime.create(config, { logger: new Logger({ write: () => undefined }, 'error'), clock: new ManualClock('2026-03-01T12:00:00Z') });
}

/** Backs every dataset up (all submitted at once; the queue runs two at a time) and resolves with the final records. */
async function backUpAll(runtime: HostRuntime, datasets: string[]): Promise<JobRecord[]> {
  const done = new Map<string, JobRecord>();
  const waiters = new Map<string, (r: JobRecord) => void>();
  const onDone = (record: JobRecord): void => {
    done.set(record.id, record);
    waiters.get(record.id)?.(record);
  };
  runtime.jobEvents.on('job:done', onDone);
  try {
    const jobs = await Promise.all(datasets.map((name) => runtime.triggerBackup(name, { full: false })));
    return await Promise.all(jobs.map((job) => done.get(job!.id) ?? new Promise<JobRecord>((resolve) => waiters.set(job!.id, resolve))));
  } finally {
    runtime.jobEvents.off('job:done', onDone);
  }
}

/** Runs the scenario; the caller's process must do nothing else meanwhile. */
export async function runIdleMemoryProbe(input: IdleMemoryProbeInput, cycles = 2): Promise<IdleMemoryReport> {
  const datasets = [...Object.keys(input.filesystem), ...Object.keys(input.sqlite)];
  const runtime = makeRuntime(input);
  const loaded = new Set<string>();
  const unloaded = new Set<string>();
  runtime.events.on('event', (e) => {
    if (e.type === 'plugin:loaded') loaded.add(e.data.pluginId);
    if (e.type === 'plugin:unloaded') unloaded.add(`${e.data.pluginId}:${e.data.reason}`);
  });
  const threads = (): number => runtime.pluginHost.workerThreads('filesystem') + runtime.pluginHost.workerThreads('sqlite');
  await runtime.start();
  try {
    const loadedAtStart = runtime.pluginHost.loadedPlugins();
    const rssBeforeLoadMiB = await settledRssMiB(); // start-up's own work (catalog, scheduler) settled too
    const report: IdleMemoryCycle[] = [];
    for (let i = 0; i < cycles; i++) {
      loaded.clear();
      unloaded.clear();
      let peakThreads = 0;
      let peakRssMiB = rssMiB();
      const sampler = setInterval(() => {
        peakThreads = Math.max(peakThreads, threads());
        peakRssMiB = Math.max(peakRssMiB, rssMiB());
      }, 20);
      let records: JobRecord[];
      try {
        records = await backUpAll(runtime, datasets);
      } finally {
        clearInterval(sampler);
      }
      // Waits for the idle unload (the test's timeout bounds the wait; nothing here is timed).
      while (runtime.pluginHost.loadedPlugins().length > 0) await sleep(50);
      report.push({
        jobStates: records.map((r) => `${(r.request as { dataset: string }).dataset}:${r.state}`).sort(),
        loaded: [...loaded].sort(),
        unloaded: [...unloaded].sort(),
        peakRssMiB,
        peakThreads,
        loadedAfter: runtime.pluginHost.loadedPlugins(),
        threadsAfter: threads(),
        usageAfter: runtime.queue.usage(),
        idleRssMiB: await settledRssMiB(),
      });
    }
    const { snapshots } = await listSnapshots(await runtime.repositories.open('main'));
    return { loadedAtStart, rssBeforeLoadMiB, cycles: report, snapshots: snapshots.length };
  } finally {
    await runtime.stop(5000);
  }
}

if (require.main === module) {
  const input = JSON.parse(process.argv[2] ?? '') as IdleMemoryProbeInput;
  runIdleMemoryProbe(input).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

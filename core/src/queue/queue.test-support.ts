/**
 * A real runtime for the queue tests: repositories in a temp dir (local
 * backend), a PluginHost with the fixture plugins and the filesystem
 * translator in real worker threads, the ServiceJobExecutor, a CostModel
 * and a JobQueue. Not used by production code.
 */
import 'reflect-metadata';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { JsonValue } from '@ebm/sdk';
import { LocalBackend } from '../backend/local-backend';
import { BackupService } from '../backup/backup-service';
import { createContainer } from '../container';
import type { HostConfig } from '../plugin-host/host-config';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import type { Repository } from '../repository/repository';
import { initTestRepository } from '../repository/test-repository';
import { RestoreService } from '../restore/restore-service';
import type { Job } from '../jobs/job';
import type { JobRecord, JobRequest } from '../jobs/job-types';
import { ServiceJobExecutor } from '../jobs/service-job-executor';
import { CostModel, CostModelOptions } from './cost-model';
import type { JobExecutor } from './job-executor';
import { JobQueue, JobQueueOptions } from './job-queue';

export const FIXTURES = path.resolve(__dirname, '../../test-fixtures/plugins');

/** Short timings (see plugin-host.test.ts for why these values). */
export const FAST_HOST: Partial<HostConfig> = {
  stallTimeoutMs: 5000,
  stallTimeoutMsOverrides: { hangs: 500, 'busy-loop': 500 },
  cancelGraceMs: 200,
  idleTimeoutMs: 10_000,
  maxThreads: 4,
  minHeapMiB: 16,
};

export interface Runtime {
  readonly dir: string;
  readonly repos: Map<string, Repository>;
  readonly registry: PluginRegistry;
  readonly executor: ServiceJobExecutor;
  readonly costs: CostModel;
  readonly queue: JobQueue;
  /** Creates `count` small datasets (a few files of a few KiB) under dir/data; returns their paths. */
  datasets(count: number, files?: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  readonly repositories?: readonly string[];
  readonly queue?: Partial<Omit<JobQueueOptions, 'executor' | 'costs'>>;
  readonly costs?: CostModelOptions;
  readonly host?: Partial<HostConfig>;
  /** Wraps the real executor (to observe it, or to damage data before a verification). */
  readonly wrap?: (real: JobExecutor) => JobExecutor;
}

export async function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ebm-queue-'));
  const repos = new Map<string, Repository>();
  for (const name of options.repositories ?? ['main']) repos.set(name, await initTestRepository(new LocalBackend(path.join(dir, 'repos', name))));
  const container = createContainer({ discovery: { dirs: [FIXTURES], pluginPath: '' }, hostConfig: { ...FAST_HOST, ...options.host } });
  const registry = container.resolve(PluginRegistry);
  const executor = new ServiceJobExecutor({
    backup: container.resolve(BackupService),
    restore: container.resolve(RestoreService),
    repositories: {
      open: async (name) => {
        const repo = repos.get(name);
        if (repo === undefined) throw new EbmError('E_USAGE', `no repository "${name}"`);
        return repo;
      },
    },
  });
  const costs = new CostModel(registry, options.costs);
  const queue = new JobQueue({ executor: options.wrap ? options.wrap(executor) : executor, costs, ...options.queue });
  let made = 0;
  return {
    dir,
    repos,
    registry,
    executor,
    costs,
    queue,
    async datasets(count, files = 4) {
      const out: string[] = [];
      for (let d = 0; d < count; d++) {
        const root = path.join(dir, 'data', `ds${made++}`);
        await fs.mkdir(path.join(root, 'sub'), { recursive: true });
        for (let i = 0; i < files; i++) await fs.writeFile(path.join(root, i % 2 ? 'sub' : '', `f${i}.txt`), `dataset ${root} file ${i}\n`.repeat(50 + i * 40));
        out.push(root);
      }
      return out;
    },
    async close() {
      await queue.close({ graceMs: 0 });
      await container.resolve(PluginHost).close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A backup request as the controller would produce it. */
export function backupRequest(dataset: string, source: string, extra: Partial<Omit<Extract<JobRequest, { kind: 'backup' }>, 'kind'>> = {}): JobRequest {
  return { kind: 'backup', dataset, repository: 'main', translator: 'filesystem', source, options: {}, tags: [], full: false, priority: 0, verify: false, ...extra };
}

/** Resolves with the job's final record. */
export function finished(queue: JobQueue, job: Job): Promise<JobRecord> {
  if (job.terminal) return Promise.resolve(job.toRecord());
  return new Promise((resolve) => {
    const on = (record: JobRecord): void => {
      if (record.id !== job.id) return;
      queue.events.off('job:done', on);
      resolve(record);
    };
    queue.events.on('job:done', on);
  });
}

/** Resolves when the job reaches `state`. */
export function reaches(queue: JobQueue, job: Job, state: JobRecord['state']): Promise<void> {
  if (job.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const on = ({ job: r }: { job: JobRecord }): void => {
      if (r.id !== job.id || r.state !== state) return;
      queue.events.off('job:state', on);
      resolve();
    };
    queue.events.on('job:state', on);
  });
}

/** An executor that delegates to `real` and lets a test hook each call. */
export function observed(real: JobExecutor, hooks: { run?: (job: Job) => void | Promise<void>; verify?: (job: Job) => void | Promise<void>; afterVerify?: (job: Job) => void }): JobExecutor {
  return {
    async run(job, signal): Promise<Record<string, JsonValue>> {
      await hooks.run?.(job);
      return real.run(job, signal);
    },
    async verify(job, signal): Promise<Record<string, JsonValue>> {
      await hooks.verify?.(job);
      try {
        return await real.verify(job, signal);
      } finally {
        hooks.afterVerify?.(job);
      }
    },
  };
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { EbmError } from '@ebm/sdk';
import { createContainer } from '../container';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import { HostEvents } from '../events/host-events';
import { BackupService } from '../backup/backup-service';
import { RestoreService } from '../restore/restore-service';
import { JobQueue } from '../queue/job-queue';
import { CostModel } from '../queue/cost-model';
import { JobEvents } from '../jobs/job-events';
import { JobJournal } from '../jobs/job-journal';
import { recoverJournal } from '../jobs/journal-recovery';
import { ServiceJobExecutor } from '../jobs/service-job-executor';
import type { JobRecord } from '../jobs/job-types';
import { validateRequest } from '../controller/validate-request';
import { Scheduler } from '../scheduler/scheduler';
import type { Clock } from '../scheduler/clock';
import type { DatasetConfig, HostConfiguration } from '../config/config-types';
import type { Logger } from '../logging/logger';
import { RepositoryRegistry } from './repository-registry';
import { EventBridge } from './event-bridge';
import { RuntimeQueries } from './runtime-queries';
import { LearnedCostsFile } from './learned-costs-file';
import { HostCatalog } from './catalog-sync';
import { JournalRegistry } from '../journal/journal-registry';
import { LayeredBackupService } from '../layers/layered-backup-service';
import { LayeredRestoreService } from '../layers/layered-restore-service';
import type { ApplyRetentionOptions, JobFilter, RuntimeFacade, StartRestoreRequest, StartVerifyRequest, TriggerBackupOptions } from '../api/runtime-facade';

export interface HostRuntimeOptions {
  readonly logger: Logger;
  /** A controllable clock for the scheduler (tests); the system clock by default. */
  readonly clock?: Clock;
  /** The fswatch executable for change journals (default: fswatch on PATH). */
  readonly fswatchCommand?: string;
}

/**
 * The EBM runtime behind `ebm serve`: configured repositories (each behind
 * one data mover), the plugin host, the resource-aware queue with its
 * journal, the scheduler, and the event bridge. Implements the HTTP API's
 * facade. Start-up: recover the journal (interrupted jobs become failed,
 * queued ones are queued again), open every repository, then start the
 * scheduler (missed schedules run once). `stop()` is the SIGTERM path.
 */
export class HostRuntime extends RuntimeQueries implements RuntimeFacade {
  readonly startedAt = new Date();
  #accepting = false;
  #started = false;
  /** When the last job ended (the catalog syncs once no job has run for a while). */
  #lastJobEndMs = 0;
  #draining?: Promise<void>;
  #stopping?: Promise<void>;
  #journal?: JobJournal;
  #scheduler?: Scheduler<DatasetConfig>;
  readonly #container: DependencyContainer;
  readonly catalog: HostCatalog;

  private constructor(
    readonly config: HostConfiguration,
    readonly log: Logger,
    readonly repositories: RepositoryRegistry,
    readonly queue: JobQueue,
    readonly jobEvents: JobEvents,
    readonly events: EventBridge,
    container: DependencyContainer,
    private readonly clock: Clock | undefined,
    readonly learnedCosts: LearnedCostsFile,
    readonly journals: JournalRegistry,
  ) {
    super();
    this.#container = container;
    this.catalog = new HostCatalog(config.state.catalogFile, repositories, log, () => (queue.activeCount > 0 ? 0 : Date.now() - this.#lastJobEndMs));
  }

  static create(config: HostConfiguration, options: HostRuntimeOptions): HostRuntime {
    const container = createContainer({
      hostConfig: {
        idleTimeoutMs: config.plugins.idleTimeoutMs,
        stallTimeoutMs: config.plugins.stallTimeoutMs,
        cancelGraceMs: config.plugins.cancelGraceMs,
        heapMiBOverrides: config.plugins.heapMiB,
        workerOldSpaceFloorMiB: config.plugins.workerGcFloorMiB,
      },
      discovery: { dirs: config.plugins.paths },
    });
    const repositories = new RepositoryRegistry(config.repositories);
    const journals = new JournalRegistry(Object.values(config.datasets), options.logger, options.fswatchCommand);
    const jobEvents = new JobEvents();
    const costs = new CostModel(container.resolve(PluginRegistry));
    const queue = new JobQueue({
      executor: new ServiceJobExecutor({
        backup: container.resolve(BackupService),
        restore: container.resolve(RestoreService),
        repositories,
        compressionLevelOf: (name) => repositories.entry(name).compressionLevel,
        journals,
        layeredBackup: container.resolve(LayeredBackupService),
        layeredRestore: container.resolve(LayeredRestoreService),
      }),
      costs,
      budgets: config.budgets,
      events: jobEvents,
    });
    const events = new EventBridge(jobEvents, container.resolve(HostEvents), options.logger);
    const learnedCosts = new LearnedCostsFile(config.state.costsFile, costs, options.logger);
    return new HostRuntime(config, options.logger, repositories, queue, jobEvents, events, container, options.clock, learnedCosts, journals);
  }

  get registry(): PluginRegistry {
    return this.#container.resolve(PluginRegistry);
  }

  get pluginHost(): PluginHost {
    return this.#container.resolve(PluginHost);
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  get scheduler(): Scheduler<DatasetConfig> | undefined {
    return this.#scheduler;
  }

  async start(): Promise<void> {
    for (const ds of Object.values(this.config.datasets)) this.registry.get(ds.translator); // E_PLUGIN_NOT_FOUND / manifest errors at start-up
    await this.repositories.openAll();
    fs.mkdirSync(path.dirname(this.config.state.jobsFile), { recursive: true, mode: 0o700 });
    const learned = this.learnedCosts.load();
    if (learned > 0) this.log.info('learned translator costs loaded', { entries: learned, file: this.learnedCosts.file });
    this.learnedCosts.attach(this.jobEvents);
    const recovered = await recoverJournal(this.config.state.jobsFile);
    this.#journal = await JobJournal.open(this.config.state.jobsFile);
    this.#journal.attach(this.jobEvents);
    const { requeued, rejected } = this.queue.restore(recovered);
    for (const job of recovered.interrupted) this.log.warn('job interrupted by the previous host stop', { job: job.id, kind: job.kind });
    this.log.info('job journal recovered', { requeued: requeued.length, interrupted: recovered.interrupted.length, rejected: rejected.length });
    this.jobEvents.on('job:done', (job) => this.#afterJob(job));
    this.catalog.open();
    void this.catalog.sync();
    await this.journals.start();
    this.#accepting = true;
    this.#started = true;
    this.#scheduler = new Scheduler<DatasetConfig>({
      datasets: Object.values(this.config.datasets),
      stateFile: this.config.state.schedulerFile,
      ...(this.clock ? { clock: this.clock } : {}),
      log: this.log,
      trigger: (dataset, reason) => {
        const job = this.#submitDatasetBackup(dataset, {});
        this.events.emit({ type: 'schedule:fired', data: { dataset: dataset.name, jobId: job.id, scheduledFor: new Date().toISOString(), missed: reason === 'missed' } });
      },
    });
    await this.#scheduler.start();
    this.log.info('host started', { datasets: Object.keys(this.config.datasets).length, repositories: this.repositories.names().length });
  }

  /**
   * The first half of a SIGTERM: stops admitting (every submission fails
   * with E_HOST_SHUTTING_DOWN), stops the scheduler, lets running jobs finish
   * within the grace period and cancels them after it, and waits until they
   * have stopped. Everything else stays up meanwhile, so the HTTP API keeps
   * answering status, jobs, cancel and events during the grace period.
   * Queued jobs stay queued (the journal re-queues them at the next start).
   * Idempotent; `stop()` calls it.
   */
  drain(graceMs = this.config.shutdown.graceMs): Promise<void> {
    if (!this.#started) return Promise.resolve();
    this.#draining ??= (async () => {
      this.#accepting = false;
      this.log.info('host stopping: no new jobs admitted', { graceMs, running: this.queue.activeCount });
      await this.#scheduler?.stop();
      this.#scheduler = undefined;
      await this.queue.close({ graceMs });
      this.log.info('host drained: no job runs', { queued: this.queue.list().filter((j) => j.state === 'queued').length });
    })();
    return this.#draining;
  }

  /**
   * Drains (see `drain`), then closes the change journals, the catalog, the
   * job journal, the event bridge, the plugin host and the repositories.
   * `ebm serve` calls `drain()`, closes the HTTP API, then `stop()`. Idempotent.
   */
  stop(graceMs = this.config.shutdown.graceMs): Promise<void> {
    if (!this.#started) return Promise.resolve();
    this.#stopping ??= (async () => {
      await this.drain(graceMs);
      this.journals.close();
      await this.learnedCosts.close();
      await this.catalog.close();
      await this.#journal?.close();
      this.events.close();
      await this.pluginHost.close();
      await this.repositories.close();
      this.log.info('host stopped');
    })();
    return this.#stopping;
  }

  // ------------------------------------------------------------- facade: jobs

  async listJobs(filter: JobFilter): Promise<readonly JobRecord[]> {
    return this.queue
      .list()
      .filter((j) => (!filter.state || j.state === filter.state) && (!filter.kind || j.kind === filter.kind) && (!filter.dataset || (j.request as { dataset?: string }).dataset === filter.dataset))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
      .slice(0, filter.limit);
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    return this.queue.record(id);
  }

  async cancelJob(id: string): Promise<JobRecord | undefined> {
    if (!this.queue.record(id)) return undefined;
    this.queue.cancel(id, 'cancelled through the API');
    return this.queue.record(id);
  }

  async triggerBackup(dataset: string, options: TriggerBackupOptions): Promise<JobRecord | undefined> {
    const config = this.config.datasets[dataset];
    if (!config) return undefined;
    return this.queue.record(this.#submitDatasetBackup(config, options).id)!;
  }

  async startRestore(request: StartRestoreRequest): Promise<JobRecord> {
    const { repository, snapshot } = await this.findSnapshotAnywhere(request.snapshot, request.repository, request.dataset);
    const job = this.#submit({ kind: 'restore', repository, snapshot: snapshot.id, target: request.target, includes: [...request.include], overwrite: request.overwrite, priority: 0, ...(request.layer !== undefined ? { layer: request.layer } : {}), ...(request.native ? { native: true } : {}) });
    return this.queue.record(job.id)!;
  }

  async startVerify(request: StartVerifyRequest): Promise<JobRecord | undefined> {
    if (request.repository !== undefined && !this.repositories.names().includes(request.repository)) return undefined;
    if (request.snapshot !== undefined) {
      const { repository, snapshot } = await this.findSnapshotAnywhere(request.snapshot, request.repository, request.dataset);
      return this.queue.record(this.#submit({ kind: 'verify', repository, snapshot: snapshot.id, priority: 0 }).id)!;
    }
    if (request.repository === undefined) throw new EbmError('E_USAGE', 'a verify job names a snapshot or a repository');
    // A verify job reads data: all of it unless the request names a subset (a check without data is no verification).
    return this.queue.record(this.#submit({ kind: 'verify', repository: request.repository, priority: 0, readDataSubset: request.readDataSubset ?? '100%' }).id)!;
  }

  async applyRetention(dataset: string, options: ApplyRetentionOptions): Promise<JobRecord | undefined> {
    const config = this.config.datasets[dataset];
    if (!config) return undefined;
    if (!config.retention) throw new EbmError('E_USAGE', `dataset "${dataset}" has no retention policy (datasets.${dataset}.retention in the host configuration)`, { subject: dataset });
    return this.queue.record(this.#submit(retentionRequest(config, options.prune, 0)).id)!;
  }

  async startPrune(repository: string): Promise<JobRecord | undefined> {
    if (!this.repositories.names().includes(repository)) return undefined;
    return this.queue.record(this.#submit({ kind: 'prune', repository, priority: 0 }).id)!;
  }

  // ------------------------------------------------------------- internals

  #submitDatasetBackup(dataset: DatasetConfig, options: TriggerBackupOptions): { id: string } {
    return this.#submit({
      kind: 'backup',
      dataset: dataset.name,
      repository: dataset.repository,
      ...(dataset.layered !== undefined
        ? {
          provider: dataset.layered.provider, endpoint: dataset.layered.endpoint,
          ...(dataset.layered.layers.length > 0 ? { layers: [...dataset.layered.layers] } : {}),
          ...(dataset.layered.baseSnapshot !== undefined ? { baseSnapshot: dataset.layered.baseSnapshot } : {}),
        }
        : { translator: dataset.translator }),
      source: dataset.source,
      options: dataset.options,
      tags: [...new Set([...dataset.tags, ...(options.tags ?? [])])],
      full: options.full ?? false,
      priority: dataset.priority,
      ...(dataset.deadlineMs ? { deadline: new Date(Date.now() + dataset.deadlineMs).toISOString() } : {}),
      verify: dataset.verify,
      ...((options.compressionLevel ?? dataset.compressionLevel) !== undefined ? { compressionLevel: options.compressionLevel ?? dataset.compressionLevel } : {}),
      retry: { ...dataset.retry },
    });
  }

  #submit(input: Record<string, unknown>): { id: string } {
    if (!this.#accepting) throw new EbmError('E_HOST_SHUTTING_DOWN', 'the host is stopping and admits no new jobs');
    const request = validateRequest(input, {
      repositories: this.repositories.names(),
      plugins: this.registry,
      repositoryEncryption: new Map(this.repositories.names().map((n) => [n, this.repositories.entry(n).encryption])),
    });
    return this.queue.submit(request).job;
  }

  /** After a dataset's successful backup, its retention policy runs as a forget job (with prune). */
  #afterJob(job: JobRecord): void {
    this.#lastJobEndMs = Date.now();
    if (job.state === 'done' && (job.kind === 'backup' || job.kind === 'forget' || job.kind === 'prune')) {
      this.catalog.syncWhenQuiet((job.request as { repository: string }).repository);
    }
    if (job.kind !== 'backup' || job.state !== 'done' || !this.#accepting) return;
    const dataset = this.config.datasets[(job.request as { dataset: string }).dataset];
    if (!dataset?.retention) return;
    try {
      this.#submit(retentionRequest(dataset, true, -10));
    } catch (err) {
      this.log.warn('retention not applied', { dataset: dataset.name, error: (err as Error).message });
    }
  }
}

/** A forget job applying a dataset's retention policy (a layered endpoint's to its endpoint and layer snapshots). */
function retentionRequest(dataset: DatasetConfig, prune: boolean, priority: number): Record<string, unknown> {
  const layered = dataset.layered !== undefined ? { endpoint: dataset.layered.endpoint, layers: [...dataset.layered.layers] } : {};
  return { kind: 'forget', repository: dataset.repository, dataset: dataset.name, policy: { ...dataset.retention }, prune, priority, ...layered };
}

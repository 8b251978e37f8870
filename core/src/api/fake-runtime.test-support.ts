import { EventEmitter } from 'node:events';
import { EbmError } from '@ebm/sdk';
import type { JobRecord, JobState } from '../jobs/job-types';
import { catalogueCode } from './http-errors';
import type {
  ApiDiscovery, DiscoveryFilesRequest, DiscoveryFilesResult, DiscoveryFilter, ApiSnapshotSummary, BrowseEntry, BrowseListing, BrowseRequest, EndpointLayers, HostStatus, JobFilter, RuntimeEvent, RuntimeEventListener,
  RuntimeEventSource, RuntimeFacade, RuntimeMetrics, SnapshotFilter, SnapshotSelector, StartRestoreRequest, TriggerBackupOptions,
  ApplyRetentionOptions, StartVerifyRequest,
} from './runtime-facade';

/**
 * An in-memory RuntimeFacade for the API's own tests — the only fake of
 * these tests. The real one (over the queue, catalog and plugin host) is
 * wired by the host process and tested end to end over HTTP there.
 *
 * Datasets: `home`, `db` (queue normally); `locked` (E_REPOSITORY_LOCKED);
 * `buggy` (throws a plain Error, i.e. a bug → 500). The tag `rejected` is refused
 * like the backup controller refuses a request (E_INVALID_REQUEST).
 */
export class FakeRuntime implements RuntimeFacade {
  readonly emitter = new EventEmitter();
  readonly events: RuntimeEventSource = {
    on: (name, listener: RuntimeEventListener) => this.emitter.on(name, listener),
    off: (name, listener: RuntimeEventListener) => this.emitter.off(name, listener),
    listenerCount: (name) => this.emitter.listenerCount(name),
  };
  readonly jobs = new Map<string, JobRecord>();
  readonly snapshots: ApiSnapshotSummary[] = [snapshot('a1b2c3d4', 'home', '2024-05-01T02:00:00.000Z'), snapshot('e5f6a7b8', 'db', '2024-05-02T02:00:00.000Z'), snapshot('c0ffee00', 'web1', '2024-05-03T02:00:00.000Z')];
  metricsValue: RuntimeMetrics = {
    jobsByState: { queued: 1, running: 2, done: 5 },
    bytesRead: 1_048_576,
    bytesAdded: 4096,
    queueDepth: 1,
    budgets: { workers: { limit: 4, used: 2 }, memoryMiB: { limit: 1024, used: 300 } },
    pluginCrashes: { flaky: 3 },
    mover: { objectsWritten: 12, bytesWritten: 8192, retries: 1, verifyFailures: 0 },
  };
  #nextId = 1;

  emit(event: RuntimeEvent): void {
    this.emitter.emit('event', event);
  }

  async status(): Promise<HostStatus> {
    return {
      version: '0.1.0', pid: process.pid, startedAt: '2024-05-01T00:00:00.000Z', uptimeSeconds: 42, accepting: true,
      budgets: { workers: { limit: 4, used: 2 }, memoryMiB: { limit: 1024, used: 300 }, ioStreams: { main: { limit: 4, used: 1 } } },
      queue: { queued: 1, running: 2, verifying: 0 },
      plugins: [{ id: 'filesystem', version: '0.1.0', loaded: true, crashes: 0 }],
      repositories: [{ name: 'main', location: '/srv/backup/repo' }],
      datasets: [{ name: 'home', translator: 'filesystem', repository: 'main', schedule: '0 2 * * *', nextRunAt: '2024-05-03T02:00:00.000Z' }],
    };
  }

  async listJobs(filter: JobFilter): Promise<readonly JobRecord[]> {
    return [...this.jobs.values()]
      .filter((j) => (filter.state === undefined || j.state === filter.state) && (filter.kind === undefined || j.kind === filter.kind))
      .filter((j) => filter.dataset === undefined || (j.request.kind === 'backup' && j.request.dataset === filter.dataset))
      .reverse()
      .slice(0, filter.limit);
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  async triggerBackup(dataset: string, options: TriggerBackupOptions): Promise<JobRecord | undefined> {
    if (dataset === 'locked') throw new EbmError('E_REPOSITORY_LOCKED', 'repository main is locked by another process (pid 4242)');
    if (dataset === 'buggy') throw new Error('secret internal detail at /srv/x');
    if (dataset !== 'home' && dataset !== 'db') return undefined;
    if (options.tags?.includes('rejected')) {
      throw new EbmError(catalogueCode('E_INVALID_REQUEST', 'E_INVALID_OPTION'), 'tags[0] "rejected" is reserved (the controller\'s own check)');
    }
    const job = this.#add({
      kind: 'backup', dataset, repository: 'main', translator: 'filesystem', source: `/${dataset}`, options: {},
      tags: options.tags ?? [], full: options.full ?? false, priority: 0, verify: true,
    });
    this.emit({ type: 'job:queued', data: { job } });
    return job;
  }

  async cancelJob(id: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    if (!job || job.state !== 'queued') return job;
    return this.setState(id, 'cancelled');
  }

  setState(id: string, state: JobState): JobRecord {
    const previous = this.jobs.get(id)!;
    const job: JobRecord = { ...previous, state };
    this.jobs.set(id, job);
    this.emit({ type: 'job:state', data: { jobId: id, state, previous: previous.state, attempt: 1 } });
    return job;
  }

  async listSnapshots(filter: SnapshotFilter): Promise<readonly ApiSnapshotSummary[]> {
    return this.snapshots.filter((s) => filter.dataset === undefined || s.dataset === filter.dataset).slice(0, filter.limit);
  }

  async browse(request: BrowseRequest): Promise<BrowseListing> {
    const snap = this.#findSnapshot(request.snapshot);
    const dir = request.path.replace(/^\/+|\/+$/g, '');
    const entries = TREE[dir];
    if (!entries) throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `${request.path} is not in snapshot ${snap.id.slice(0, 8)}`, { subject: request.path });
    const layered = request.layer !== undefined ? { endpoint: snap.id, layer: request.layer } : {};
    return { snapshot: snap.id, path: dir, entries: entries.slice(request.offset, request.offset + request.limit), total: entries.length, ...layered };
  }

  /** `web1` is the one layered endpoint: a base layer and a writable upper layer. */
  async listLayers(request: SnapshotSelector): Promise<EndpointLayers> {
    const snap = this.#findSnapshot(request.snapshot);
    if (snap.dataset !== 'web1') throw new EbmError('E_USAGE', `snapshot ${snap.id.slice(0, 8)} (${snap.dataset}) is not a layered endpoint snapshot`);
    return {
      snapshot: snap.id, repository: 'main', dataset: 'web1', provider: 'overlay', layout: 'overlayfs', source: 'overlayfs:/mnt/web1',
      layers: [
        { id: 'lower-0', kind: 'base', order: 0, immutable: true, digest: `ebmtree+sha256:${'ab'.repeat(32)}`, snapshot: 'b'.repeat(64), action: 'referenced', dataset: `layer:ebmtree+sha256:${'ab'.repeat(32)}`, files: 120, bytesTotal: 1 << 20 },
        { id: 'upper', kind: 'upper', order: 1, immutable: false, snapshot: null, action: 'missing' },
      ],
    };
  }

  /**
   * Discoveries: `overlayfs:/mnt/web1` by the layer provider `overlay` twice
   * (the newer one is backed up as web1's snapshot c0ffee00), `/srv/app.db` by
   * the translator `sqlite`. Repository `main` only.
   */
  readonly discoveries: ApiDiscovery[] = [
    layerDiscovery('2024-05-04T02:00:00.000Z', { repository: 'main', snapshot: 'c0ffee00'.padEnd(64, '0'), dataset: 'web1', time: '2024-05-03T02:00:00.000Z' }),
    { plugin: 'sqlite', pluginVersion: '0.1.0', pluginKind: 'translator', source: '/srv/app.db', time: '2024-05-02T01:00:00.000Z', report: { path: '/srv/app.db', journalMode: 'wal', tables: [{ name: 'users', rows: 3 }] } },
    layerDiscovery('2024-05-01T02:00:00.000Z', { repository: 'main', snapshot: 'c0ffee00'.padEnd(64, '0'), dataset: 'web1', time: '2024-05-03T02:00:00.000Z' }),
  ];

  async listDiscoveries(filter: DiscoveryFilter): Promise<readonly ApiDiscovery[] | undefined> {
    if (filter.repository !== undefined && filter.repository !== 'main') return undefined;
    const seen = new Set<string>();
    return this.discoveries
      .filter((d) => (filter.source === undefined || d.source === filter.source) && (filter.plugin === undefined || d.plugin === filter.plugin))
      .filter((d) => filter.all || (!seen.has(`${d.plugin} ${d.source}`) && seen.add(`${d.plugin} ${d.source}`)));
  }

  /** The newest overlay discovery's layers: lower-0 holds LOWER_FILES, upper holds one file. */
  /** Live layer queries of the layer named 'hang': started, and stopped through their signal. */
  readonly hangingQueries = { started: 0, cancelled: 0 };

  async discoveryFiles(request: DiscoveryFilesRequest): Promise<DiscoveryFilesResult> {
    if (request.layer === 'hang') {
      // Like a provider still listing a huge layer: answers only when cancelled.
      this.hangingQueries.started++;
      return new Promise((_, reject) => {
        request.signal?.addEventListener('abort', () => {
          this.hangingQueries.cancelled++;
          reject(new EbmError('E_CANCELLED', 'the layer query was cancelled'));
        }, { once: true });
      });
    }
    const found = await this.listDiscoveries({ source: request.source, all: false, ...(request.plugin !== undefined ? { plugin: request.plugin } : {}), ...(request.repository !== undefined ? { repository: request.repository } : {}) });
    if (found === undefined) return { found: false, missing: 'repository', message: `no repository named ${JSON.stringify(request.repository)}` };
    const d = found[0];
    if (d === undefined) return { found: false, missing: 'discovery', message: `no discovery of ${JSON.stringify(request.source)} is recorded` };
    if (d.pluginKind !== 'layer-provider') throw new EbmError('E_USAGE', `the discovery of ${JSON.stringify(request.source)} by ${d.plugin} (a translator) has no layers`);
    const files = request.layer === 'lower-0' ? LOWER_FILES : request.layer === 'upper' ? [{ path: 'etc/motd', type: 'file', size: 5 }] : undefined;
    if (files === undefined) return { found: false, missing: 'layer', message: `the discovery has no layer ${JSON.stringify(request.layer)} (layers: lower-0 (base), upper (upper))` };
    const page = files.slice(request.offset, request.offset + request.limit);
    const more = request.offset + request.limit < files.length;
    return {
      found: true,
      listing: {
        plugin: d.plugin, source: d.source, time: d.time, offset: request.offset, limit: request.limit, files: page, more, ...(more ? {} : { total: files.length }),
        layer: request.layer === 'upper' ? { id: 'upper', kind: 'upper', name: 'upper', order: 1, files: 1 } : { id: 'lower-0', kind: 'base', name: 'lower 0', order: 0, files: 2 },
      },
    };
  }

  async startRestore(request: StartRestoreRequest): Promise<JobRecord> {
    const snap = this.#findSnapshot(request.snapshot);
    const job = this.#add({
      kind: 'restore', repository: 'main', snapshot: snap.id, target: request.target, includes: request.include, overwrite: request.overwrite, priority: 0,
      ...(request.layer !== undefined ? { layer: request.layer } : {}), ...(request.native ? { native: true } : {}),
    });
    this.emit({ type: 'job:queued', data: { job } });
    return job;
  }

  /** Repository `main` only. */
  async startVerify(request: StartVerifyRequest): Promise<JobRecord | undefined> {
    if (request.repository !== undefined && request.repository !== 'main') return undefined;
    const snapshot = request.snapshot !== undefined ? this.#findSnapshot(request.snapshot).id : undefined;
    const job = this.#add({
      kind: 'verify', repository: 'main', priority: 0,
      ...(snapshot !== undefined ? { snapshot } : {}), ...(request.readDataSubset !== undefined ? { readDataSubset: request.readDataSubset } : {}),
    });
    this.emit({ type: 'job:queued', data: { job } });
    return job;
  }

  /** `home` has a retention policy, `db` has none (E_USAGE). */
  async applyRetention(dataset: string, options: ApplyRetentionOptions): Promise<JobRecord | undefined> {
    if (dataset !== 'home' && dataset !== 'db') return undefined;
    if (dataset === 'db') throw new EbmError('E_USAGE', 'dataset "db" has no retention policy (datasets.db.retention in the host configuration)');
    const job = this.#add({ kind: 'forget', repository: 'main', dataset, policy: { keepDaily: 7 }, prune: options.prune, priority: 0 });
    this.emit({ type: 'job:queued', data: { job } });
    return job;
  }

  async startPrune(repository: string): Promise<JobRecord | undefined> {
    if (repository !== 'main') return undefined;
    const job = this.#add({ kind: 'prune', repository, prune: true, priority: 0 });
    this.emit({ type: 'job:queued', data: { job } });
    return job;
  }

  async metrics(): Promise<RuntimeMetrics> {
    return this.metricsValue;
  }

  #findSnapshot(selector: string): ApiSnapshotSummary {
    const snap = this.snapshots.find((s) => s.id.startsWith(selector));
    if (!snap) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot matches ${JSON.stringify(selector)}`);
    return snap;
  }

  #add(request: JobRecord['request']): JobRecord {
    const id = `job-${this.#nextId++}`;
    const job: JobRecord = {
      id, kind: request.kind, request, state: 'queued', createdAt: new Date().toISOString(), attempt: 1,
      cost: { workers: 1, memoryMiB: 128, ioStreams: 1 }, log: [],
    };
    this.jobs.set(id, job);
    return job;
  }
}

function snapshot(prefix: string, dataset: string, time: string): ApiSnapshotSummary {
  return {
    id: prefix.padEnd(64, '0'), repository: 'main', dataset, time, host: 'host1', tags: ['daily'],
    translator: { id: 'filesystem', version: '0.1.0' }, source: `/${dataset}`,
    files: 2, dirs: 1, bytesTotal: 300, bytesAdded: 200, durationMs: 1200, warnings: 0,
  };
}

const LOWER_FILES = [
  { path: 'etc', type: 'dir', size: 0 },
  { path: 'etc/hosts', type: 'file', size: 10 },
  { path: 'usr', type: 'dir', size: 0 },
  { path: 'usr/bin', type: 'dir', size: 0 },
  { path: 'usr/bin/tool', type: 'file', size: 2048 },
];

function layerDiscovery(time: string, backup: ApiDiscovery['backup']): ApiDiscovery {
  return {
    plugin: 'overlay', pluginVersion: '0.1.0', pluginKind: 'layer-provider', source: 'overlayfs:/mnt/web1', time,
    report: {
      contractVersion: 1, source: 'overlayfs:/mnt/web1', layout: 'overlayfs',
      layers: [
        { id: 'lower-0', kind: 'base', name: 'lower 0', order: 0, immutable: true, digest: `ebmtree+sha256:${'ab'.repeat(32)}`, bytes: 2058, files: 2, root: '/srv/base' },
        { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, bytes: 5, files: 1, root: '/srv/upper' },
      ],
    },
    backup,
  };
}

const TREE: Readonly<Record<string, readonly BrowseEntry[]>> = {
  '': [
    { name: 'docs', path: 'docs', kind: 'dir', mode: 0o755 },
    { name: 'notes.txt', path: 'notes.txt', kind: 'file', size: 100, mode: 0o644, mtime: '2024-05-01T01:00:00.000Z' },
  ],
  docs: [{ name: 'report.pdf', path: 'docs/report.pdf', kind: 'file', size: 200, mode: 0o600 }],
};

import type { JournalRegistry } from '../journal/journal-registry';
import { EbmError } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import type { HostConfiguration, DatasetConfig } from '../config/config-types';
import type { JobQueue } from '../queue/job-queue';
import type { PluginRegistry } from '../plugin-host/plugin-registry';
import type { PluginHost } from '../plugin-host/plugin-host';
import type { Scheduler } from '../scheduler/scheduler';
import type { JobState } from '../jobs/job-types';
import { BlobStore } from '../repository/blob-store';
import { findSnapshot, listSnapshots } from '../snapshots/snapshot-store';
import type { SnapshotRecord } from '../repository/types';
import { loadTree, resolvePath } from '../browse/tree-walker';
import { normalizeInclude } from '../restore/restore-service';
import type { RepositoryRegistry } from './repository-registry';
import type { EventBridge } from './event-bridge';
import type { HostCatalog } from './catalog-sync';
import type { ApiDiscovery, ApiSnapshotSummary, BrowseEntry, BrowseListing, BrowseRequest, DiscoveryFilesRequest, DiscoveryFilesResult, DiscoveryFilter, EndpointLayers, HostStatus, RuntimeMetrics, SnapshotFilter, SnapshotSelector } from '../api/runtime-facade';
import { describeEndpointLayers, layerSnapshot } from './endpoint-layers';
import { discoveryFiles, listDiscoveries } from './discovery-queries';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION = (require('../../package.json') as { version: string }).version;

/**
 * The read-only half of the runtime facade: status, snapshots, browsing and
 * metrics, answered from the queue, the scheduler and the repositories.
 */
export abstract class RuntimeQueries {
  abstract readonly config: HostConfiguration;
  abstract readonly repositories: RepositoryRegistry;
  abstract readonly queue: JobQueue;
  abstract readonly events: EventBridge;
  abstract readonly startedAt: Date;
  abstract get registry(): PluginRegistry;
  abstract get pluginHost(): PluginHost;
  abstract get accepting(): boolean;
  abstract get scheduler(): Scheduler<DatasetConfig> | undefined;
  abstract readonly catalog: HostCatalog;
  abstract readonly journals: JournalRegistry;

  async status(): Promise<HostStatus> {
    const jobs = this.queue.list();
    const usage = this.queue.usage();
    const budgets = this.config.budgets;
    const loaded = new Set(this.pluginHost.loadedPlugins());
    const next = new Map((this.scheduler?.nextRuns() ?? []).map((r) => [r.dataset, r.next]));
    const count = (state: JobState) => jobs.filter((j) => j.state === state).length;
    const journals = this.journals.status();
    return {
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      accepting: this.accepting,
      budgets: {
        workers: { limit: budgets.workers, used: usage.workers },
        memoryMiB: { limit: budgets.memoryMiB, used: usage.memoryMiB },
        ioStreams: Object.fromEntries(this.repositories.names().map((r) => [r, { limit: budgets.ioStreamsPerRepository, used: usage.ioStreams[r] ?? 0 }])),
      },
      queue: { queued: count('queued'), running: count('running'), verifying: count('verifying') },
      plugins: this.registry.list().map((p) => ({ id: p.manifest.id, version: p.version, loaded: loaded.has(p.manifest.id), crashes: this.events.crashes[p.manifest.id] ?? 0 })),
      repositories: this.repositories.names().map((name) => ({ name, location: this.repositories.entry(name).path })),
      datasets: Object.values(this.config.datasets).map((d) => {
        const last = jobs.filter((j) => (j.request as { dataset?: string }).dataset === d.name).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
        const nextAt = next.get(d.name);
        return {
          name: d.name,
          translator: d.translator,
          repository: d.repository,
          ...(d.schedule ? { schedule: d.schedule } : {}),
          ...(nextAt !== undefined ? { nextRunAt: new Date(nextAt).toISOString() } : {}),
          ...(last ? { lastJob: { id: last.id, state: last.state, ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}) } } : {}),
          ...(journals[d.name] ? { journal: { ...journals[d.name]! } } : {}),
        };
      }),
    };
  }

  async listSnapshots(filter: SnapshotFilter): Promise<readonly ApiSnapshotSummary[]> {
    const out: ApiSnapshotSummary[] = [];
    for (const name of filter.repository ? [filter.repository] : this.repositories.names()) {
      const { snapshots } = await listSnapshots(await this.repositories.open(name));
      for (const s of snapshots) {
        if ((filter.dataset && s.dataset !== filter.dataset) || (filter.tag && !s.tags.includes(filter.tag))) continue;
        out.push(summarize(name, s));
      }
    }
    return out.sort((a, b) => (a.time < b.time ? 1 : -1)).slice(0, filter.limit);
  }

  async listLayers(request: SnapshotSelector): Promise<EndpointLayers> {
    const { repository, snapshot } = await this.findSnapshotAnywhere(request.snapshot, request.repository, request.dataset);
    return describeEndpointLayers(await this.repositories.open(repository), repository, snapshot);
  }

  /** What `ebm discover` recorded, from the host's catalog and the CLI's catalog of each repository (discovery-queries.ts). */
  async listDiscoveries(filter: DiscoveryFilter): Promise<readonly ApiDiscovery[] | undefined> {
    return listDiscoveries(this, filter);
  }

  /** A page of a discovered layer's files, asked live of its layer provider. */
  async discoveryFiles(request: DiscoveryFilesRequest): Promise<DiscoveryFilesResult> {
    return discoveryFiles(this, request);
  }

  async browse(request: BrowseRequest): Promise<BrowseListing> {
    const found = await this.findSnapshotAnywhere(request.snapshot, request.repository, request.dataset);
    const { repository } = found;
    // endpoint → layer → files: with `layer`, the layer's own snapshot is listed (as stored).
    const snapshot = request.layer !== undefined ? await layerSnapshot(await this.repositories.open(repository), found.snapshot, request.layer) : found.snapshot;
    const layered = request.layer !== undefined ? { endpoint: found.snapshot.id, layer: request.layer } : {};
    return { ...(await this.#browseSnapshot(repository, snapshot, request)), ...layered };
  }

  async #browseSnapshot(repository: string, snapshot: SnapshotRecord, request: BrowseRequest): Promise<BrowseListing> {
    const fromCatalog = this.catalog.listDirectory(snapshot.id, normalizeInclude(request.path));
    if (fromCatalog !== undefined) {
      return {
        snapshot: snapshot.id,
        path: normalizeInclude(request.path),
        total: fromCatalog.length,
        entries: fromCatalog.slice(request.offset, request.offset + request.limit).map((e) => browseEntry(e.path, e)),
      };
    }
    const store = await BlobStore.open(await this.repositories.open(repository));
    const base = normalizeInclude(request.path);
    const found = await resolvePath(store, snapshot.tree, base);
    const entries: readonly TreeEntry[] = found.entry && found.entry.kind !== 'dir' ? [found.entry] : await loadTree(store, found.tree!);
    const prefix = found.entry && found.entry.kind !== 'dir' ? base.split('/').slice(0, -1).join('/') : base;
    return {
      snapshot: snapshot.id,
      path: base,
      total: entries.length,
      entries: entries.slice(request.offset, request.offset + request.limit).map((e) => browseEntry(prefix ? `${prefix}/${e.name}` : e.name, e)),
    };
  }

  async metrics(): Promise<RuntimeMetrics> {
    const jobs = this.queue.list();
    const jobsByState: Partial<Record<JobState, number>> = {};
    let bytesRead = 0;
    let bytesAdded = 0;
    for (const j of jobs) {
      jobsByState[j.state] = (jobsByState[j.state] ?? 0) + 1;
      if (j.kind === 'backup' && j.state === 'done') {
        bytesAdded += Number(j.result?.bytesAdded ?? 0);
        bytesRead += Number(j.result?.bytesRead ?? j.progress?.bytes ?? 0);
      }
    }
    const usage = this.queue.usage();
    const mover = { objectsWritten: 0, bytesWritten: 0, retries: 0, verifyFailures: 0 };
    for (const name of this.repositories.names()) {
      const m = this.repositories.mover(name).metrics;
      mover.objectsWritten += m.objectsSaved;
      mover.bytesWritten += m.bytesSaved;
      mover.retries += m.retries;
      mover.verifyFailures += m.verificationFailures;
    }
    return {
      jobsByState,
      bytesRead,
      bytesAdded,
      queueDepth: jobsByState.queued ?? 0,
      budgets: { workers: { limit: this.config.budgets.workers, used: usage.workers }, memoryMiB: { limit: this.config.budgets.memoryMiB, used: usage.memoryMiB } },
      pluginCrashes: { ...this.events.crashes },
      mover,
    };
  }

  /** Finds a snapshot by id, prefix or 'latest' (with a dataset) in one or all repositories. */
  async findSnapshotAnywhere(selector: string, repository?: string, dataset?: string): Promise<{ repository: string; snapshot: SnapshotRecord }> {
    const names = repository ? [repository] : this.repositories.names();
    for (const name of names) {
      try {
        const snapshot = await findSnapshot(await this.repositories.open(name), selector, dataset ? { dataset } : {});
        return { repository: name, snapshot };
      } catch (err) {
        if ((err as EbmError).code !== 'E_SNAPSHOT_NOT_FOUND') throw err;
      }
    }
    throw new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot ${selector}${dataset ? ` of dataset ${dataset}` : ''} in ${names.join(', ')}`, { subject: selector });
  }
}

function summarize(repository: string, s: SnapshotRecord): ApiSnapshotSummary {
  return {
    id: s.id,
    repository,
    dataset: s.dataset,
    time: s.time,
    host: s.host,
    tags: s.tags,
    translator: s.translator,
    source: s.source,
    ...(s.parent ? { parent: s.parent } : {}),
    files: s.summary.files,
    dirs: s.summary.dirs,
    bytesTotal: s.summary.bytesTotal,
    bytesAdded: s.summary.bytesAdded,
    durationMs: s.summary.durationMs,
    warnings: s.summary.warnings.length + s.summary.warningsDropped,
  };
}

/** The fields of a tree entry or a catalog row that the API's browse listing shows. */
interface ListedEntry {
  readonly name: string;
  readonly kind: string;
  readonly size?: number | null;
  readonly mode?: number | null;
  readonly user?: string | null;
  readonly group?: string | null;
  readonly mtimeNs?: string | null;
  readonly target?: string | null;
}

function browseEntry(path: string, e: ListedEntry): BrowseEntry {
  return {
    name: e.name,
    path,
    kind: e.kind,
    ...(e.size != null ? { size: e.size } : {}),
    ...(e.mode != null ? { mode: e.mode } : {}),
    ...(e.user ? { user: e.user } : {}),
    ...(e.group ? { group: e.group } : {}),
    ...(e.mtimeNs ? { mtime: new Date(Number(BigInt(e.mtimeNs) / 1000000n)).toISOString() } : {}),
    ...(e.target ? { target: e.target } : {}),
  };
}


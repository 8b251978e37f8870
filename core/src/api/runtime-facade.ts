import type { DiscoveryReport } from '@ebm/sdk';
import type { JobKind, JobRecord, JobState } from '../jobs/job-types';
import type { ApiSnapshotSummary, BrowseListing, HostStatus, RuntimeEventSource, RuntimeMetrics } from './runtime-views';

// The views the facade answers with (status, snapshots, browsing, events, metrics) live in runtime-views.ts.
export * from './runtime-views';

/**
 * What the HTTP API needs from the running host (`ebm serve`). The API module
 * depends only on this interface; the host implements it over the queue, the
 * catalog, the plugin host and the configuration. Every value crossing it is
 * plain JSON-compatible data: the API serialises it as is.
 *
 * Errors: methods throw `EbmError` (catalogue codes; the API maps them to HTTP
 * statuses, see http-errors.ts). "No such job / dataset" is not an error of
 * the facade: the lookups return `undefined` and the API answers 404.
 */
export interface RuntimeFacade {
  status(): Promise<HostStatus>;
  /** Newest first. `limit` is already clamped by the API (1…1000, default 100). */
  listJobs(filter: JobFilter): Promise<readonly JobRecord[]>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /**
   * Validates and queues a backup of a configured dataset (the backup
   * controller). `undefined` when no dataset has that name; E_USAGE /
   * E_INVALID_OPTION when the request is rejected (the message names the field).
   */
  triggerBackup(dataset: string, options: TriggerBackupOptions): Promise<JobRecord | undefined>;
  /**
   * Cancels a queued job at once, or asks a running one to stop (the returned
   * record may still be `running`; its end arrives as a `job:done` event).
   * Cancelling a finished job changes nothing and returns it. `undefined`: no such job.
   */
  cancelJob(id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  listSnapshots(filter: SnapshotFilter): Promise<readonly ApiSnapshotSummary[]>;
  /**
   * One directory level of a snapshot (from the catalog when it has the
   * snapshot, else from the repository). E_SNAPSHOT_NOT_FOUND,
   * E_AMBIGUOUS_ID, E_PATH_NOT_IN_SNAPSHOT.
   */
  browse(request: BrowseRequest): Promise<BrowseListing>;
  /** The layers of an endpoint snapshot (docs/layers.md). E_SNAPSHOT_NOT_FOUND; E_USAGE for an ordinary snapshot. */
  listLayers(request: SnapshotSelector): Promise<EndpointLayers>;
  /**
   * What `ebm discover` recorded (docs/layers.md, "Browsing"), newest first,
   * from the host's catalog and the CLI's catalog of each configured
   * repository. `undefined`: `repository` names no configured repository.
   */
  listDiscoveries(filter: DiscoveryFilter): Promise<readonly ApiDiscovery[] | undefined>;
  /**
   * A page of the files of one layer of a discovered endpoint, asked live of
   * the layer provider (in its worker) with the recorded discovery. A
   * discovery, layer or repository that does not exist is a `missing` result
   * (the API answers 404); E_USAGE for a discovery without layers or an
   * ambiguous source; the provider's errors as they are.
   */
  discoveryFiles(request: DiscoveryFilesRequest): Promise<DiscoveryFilesResult>;
  /** Validates and queues a restore job. E_SNAPSHOT_NOT_FOUND, E_USAGE… */
  startRestore(request: StartRestoreRequest): Promise<JobRecord>;
  /**
   * Queues a verify job: with `snapshot`, re-reads and checks that
   * snapshot's data (E_SNAPSHOT_NOT_FOUND); without, checks the whole
   * `repository` (all its data, or `readDataSubset`). The job fails with
   * E_CHECK_FAILED when it finds damage. `undefined`: no repository of that name.
   */
  startVerify(request: StartVerifyRequest): Promise<JobRecord | undefined>;
  /**
   * Queues a forget job applying the dataset's configured retention policy
   * (then a prune, unless `prune: false`). `undefined`: no such dataset;
   * E_USAGE when the dataset has no retention policy.
   */
  applyRetention(dataset: string, options: ApplyRetentionOptions): Promise<JobRecord | undefined>;
  /** Queues a prune of a repository (reclaims data no snapshot references). `undefined`: no such repository. */
  startPrune(repository: string): Promise<JobRecord | undefined>;
  /** The live events the API streams at GET /api/v1/events. */
  readonly events: RuntimeEventSource;
  /** Cumulative counters and current gauges, read at every /metrics scrape. */
  metrics(): Promise<RuntimeMetrics>;
}

// ---------------------------------------------------------------- requests

export interface JobFilter {
  readonly state?: JobState;
  readonly kind?: JobKind;
  readonly dataset?: string;
  readonly limit: number;
}

export interface TriggerBackupOptions {
  /** Force a baseline read (ignore the dataset's latest snapshot). */
  readonly full?: boolean;
  /** Added to the dataset's configured tags. */
  readonly tags?: readonly string[];
  /** zstd level for the data this run adds (default: the dataset's, else the repository's). */
  readonly compressionLevel?: number;
}

export interface SnapshotFilter {
  readonly repository?: string;
  readonly dataset?: string;
  readonly tag?: string;
  readonly limit: number;
}

export interface BrowseRequest {
  /** A snapshot id, a unique prefix, or `latest` (then `dataset` is required). */
  readonly snapshot: string;
  /** Repository name from the configuration; when absent every repository is searched. */
  readonly repository?: string;
  readonly dataset?: string;
  /** Snapshot-relative POSIX path, '' or '/' for the root. */
  readonly path: string;
  readonly offset: number;
  readonly limit: number;
  /** Of an endpoint snapshot: browse this layer's snapshot (as stored: whiteouts show as chardev entries). */
  readonly layer?: string;
}

/** A snapshot named by id, prefix or `latest` (with `dataset`), in one repository or any. */
export interface SnapshotSelector {
  readonly snapshot: string;
  readonly repository?: string;
  readonly dataset?: string;
}

/** An endpoint snapshot's layers, bottom first (GET /api/v1/snapshots/{id}/layers). */
export interface EndpointLayers {
  readonly snapshot: string;
  readonly repository: string;
  readonly dataset: string;
  readonly provider: string;
  readonly layout: string;
  readonly source: string;
  readonly layers: readonly EndpointLayerSummary[];
}

export interface EndpointLayerSummary {
  readonly id: string;
  readonly kind: string;
  readonly order: number;
  readonly immutable: boolean;
  readonly digest?: string;
  /** The layer snapshot; null when the layer was never stored. */
  readonly snapshot: string | null;
  /** stored | referenced | previous | missing: what the endpoint's backup did with the layer. */
  readonly action: string;
  /** The layer snapshot's dataset, files and bytes; absent when it is missing or gone. */
  readonly dataset?: string;
  readonly files?: number;
  readonly bytesTotal?: number;
}

export interface DiscoveryFilter {
  /** As recorded (an absolute path for paths), or the provider's normalised source. */
  readonly source?: string;
  readonly plugin?: string;
  /** Every record, not only the newest of each (plugin, source). */
  readonly all: boolean;
  /** Only the catalog of this configured repository. */
  readonly repository?: string;
}

/** One recorded discovery (GET /api/v1/discoveries). */
export interface ApiDiscovery {
  readonly plugin: string;
  readonly pluginVersion: string;
  /** translator or layer-provider. */
  readonly pluginKind: string;
  /** As given to `ebm discover`. */
  readonly source: string;
  /** When the discovery finished. */
  readonly time: string;
  /** The configured repository whose catalog holds the record; absent: the host's own catalog. */
  readonly repository?: string;
  /** The plugin's report (a layer provider's: layout, layers bottom first, …). */
  readonly report: DiscoveryReport;
  /** Layer providers only: the newest endpoint snapshot of this source, null when it was never backed up. */
  readonly backup?: DiscoveredEndpointBackup | null;
}

/** Where a discovered endpoint's newest layered backup is: browse it with /snapshots/{snapshot}/layers and /tree?layer=ID. */
export interface DiscoveredEndpointBackup {
  readonly repository: string;
  readonly snapshot: string;
  /** The endpoint. */
  readonly dataset: string;
  readonly time: string;
}

export interface DiscoveryFilesRequest {
  readonly source: string;
  /** Required only when several layer providers discovered the source. */
  readonly plugin?: string;
  readonly layer: string;
  readonly repository?: string;
  readonly offset: number;
  readonly limit: number;
  /** Aborted when the client goes away: the provider's query is cancelled. */
  readonly signal?: AbortSignal;
}

export type DiscoveryFilesResult =
  | { readonly found: true; readonly listing: DiscoveryFiles }
  | { readonly found: false; readonly missing: 'repository' | 'discovery' | 'layer'; readonly message: string };

/** A page of one discovered layer's files, as the provider reports them now. */
export interface DiscoveryFiles {
  readonly plugin: string;
  /** As recorded. */
  readonly source: string;
  /** The discovery whose report the query used. */
  readonly time: string;
  readonly layer: { readonly id: string; readonly kind: string; readonly name: string; readonly order: number; readonly files: number };
  readonly offset: number;
  readonly limit: number;
  /** The provider's order (depth-first pre-order); `path` is source-relative. */
  readonly files: readonly { readonly path: string; readonly type: string; readonly size: number }[];
  /** More files follow this page. */
  readonly more: boolean;
  /** Files of the layer, when this page reached its end (otherwise see layer.files, counted at discovery). */
  readonly total?: number;
}

export interface StartRestoreRequest {
  readonly snapshot: string;
  readonly repository?: string;
  readonly dataset?: string;
  /** Absolute directory on the host. */
  readonly target: string;
  /** Snapshot-relative paths to restore; all when empty. */
  readonly include: readonly string[];
  readonly overwrite: boolean;
  /** Endpoint snapshots: restore this layer alone, as stored. */
  readonly layer?: string;
  /** Endpoint snapshots: one directory per layer (default: flattened). */
  readonly native?: boolean;
}

/** POST /api/v1/verifications: `snapshot` (one snapshot's data) or `repository` alone (a whole-repository check). */
export interface StartVerifyRequest {
  /** An id, a unique prefix, or `latest` (then `dataset` is required). */
  readonly snapshot?: string;
  /** Required without `snapshot`; with it, narrows the search. */
  readonly repository?: string;
  readonly dataset?: string;
  /** Whole-repository checks only: "10%" or "n/m" of the packs are read (default: all). */
  readonly readDataSubset?: string;
}

export interface ApplyRetentionOptions {
  /** Prune after forgetting (default true). */
  readonly prune: boolean;
}

import type { EncryptionAlgorithm } from '../crypto/object-cipher';
import type { OptionValue } from '@ebm/sdk';
import type { RetryPolicy } from '../jobs/job-types';
import type { ForgetPolicy } from '../snapshots/forget-policy';

/**
 * The host configuration of `ebm serve` after loading: validated, with every
 * default applied and every duration converted to milliseconds. What the file
 * may contain, field by field, is the JSON Schema in config-schema.ts (its
 * `description`s are the reference; docs/runtime.md repeats them).
 */
export interface HostConfiguration {
  /** Absolute path of the file this was loaded from (for messages and reloads). */
  readonly configFile: string;
  readonly repositories: Readonly<Record<string, RepositoryConfigEntry>>;
  readonly datasets: Readonly<Record<string, DatasetConfig>>;
  readonly budgets: Budgets;
  readonly api: ApiConfig;
  readonly state: StateConfig;
  readonly log: LogConfig;
  readonly plugins: PluginsConfig;
  readonly shutdown: ShutdownConfig;
}

export interface RepositoryConfigEntry {
  /** The key under `repositories`. */
  readonly name: string;
  /** Absolute path of the repository directory. */
  readonly path: string;
  /**
   * What the repository must be: 'aes-256-gcm' (default) or 'none'. The host
   * refuses to open a repository that is not what the configuration says, so
   * an operator who expects encryption never writes plaintext by mistake.
   */
  readonly encryption: EncryptionAlgorithm;
  /** With encryption: exactly one of passwordEnv / passwordFile is set; without: neither. */
  readonly passwordEnv?: string;
  readonly passwordFile?: string;
  /** zstd level for new data, 0 (store) … 22. Default 3. */
  readonly compressionLevel: number;
  /** Concurrent object writes/reads of the data mover on this repository. Default 4. */
  readonly maxConcurrentIo: number;
  /** Re-read and check each backup's data after it is written (serial verification lane). Default true. */
  readonly verify: boolean;
  /** Upload bandwidth limit of the data mover in KiB/s; absent = unlimited. */
  readonly bandwidthLimitKiBps?: number;
}

export interface DatasetConfig {
  /** The key under `datasets`; snapshots record it as their dataset. */
  readonly name: string;
  /**
   * Translator plugin id. Default "filesystem". For a layered endpoint
   * (`layered` set) the layer provider's id: the plugin the queue charges.
   */
  readonly translator: string;
  /** What the translator reads (an absolute path for the filesystem translator). */
  readonly source: string;
  /** Name of an entry of `repositories`. */
  readonly repository: string;
  /** Cron expression; absent = run only on demand (API / `ebm run`). */
  readonly schedule?: string;
  /** IANA time zone of the schedule; absent = the host's local zone. */
  readonly timezone?: string;
  /** Applied (forget) after each successful backup of the dataset; absent = keep everything. */
  readonly retention?: ForgetPolicy;
  /** Translator options, as `-o name=value` would pass them. Default {}. */
  readonly options: Readonly<Record<string, OptionValue>>;
  /** Tags recorded on every snapshot of the dataset. Default []. */
  readonly tags: readonly string[];
  /** Queue priority, -100..100 (controller/priority.ts): higher runs first among waiting jobs. Default 0. */
  readonly priority: number;
  /** zstd level for the data this dataset's backups add; absent = the repository's compressionLevel. */
  readonly compressionLevel?: number;
  /** A run still going this long (ms) after it was requested fails with E_DEADLINE_EXCEEDED, not retried; absent = no deadline. */
  readonly deadlineMs?: number;
  readonly retry: RetryPolicy;
  /** Verify after backup; default: the repository's `verify`. */
  readonly verify: boolean;
  /** A change journal of the source kept by the host (absent = none). */
  readonly journal?: JournalConfig;
  /** Set when the dataset is a layered endpoint backed up through a layer provider (`provider` in the file). */
  readonly layered?: LayeredDatasetConfig;
}

/**
 * A dataset that backs up (some of) the layers of an endpoint (docs/layers.md,
 * "In the host process"). Several datasets may name the same endpoint with
 * different `layers`, each with its own schedule and retention.
 */
export interface LayeredDatasetConfig {
  /** Layer-provider plugin id (e.g. "overlay"). */
  readonly provider: string;
  /** The endpoint's name: endpoint snapshots are filed under it, its writable layers under `<endpoint>#layer:<id>`. Default: the dataset's name. */
  readonly endpoint: string;
  /** Layer ids or kinds this dataset reads; empty = every layer. */
  readonly layers: readonly string[];
  /** A layer map's base image as an earlier snapshot (id, prefix or latest:DATASET) instead of a base directory. */
  readonly baseSnapshot?: string;
}

export interface JournalConfig {
  /** Every Nth backup scans everything even with a trusted journal; 0 = never. */
  readonly fullScanEvery: number;
  /** More changed paths than this and a backup scans everything. */
  readonly maxPaths: number;
}

export interface Budgets {
  /** Worker threads all running jobs may use together. Default 2. */
  readonly workers: number;
  /** Memory (MiB) all running jobs may use together. Default 1024. */
  readonly memoryMiB: number;
  /** Concurrent I/O streams per repository across running jobs. Default 2. */
  readonly ioStreamsPerRepository: number;
}

export interface ApiConfig {
  /** Address of the HTTP API. Default 127.0.0.1:8950. */
  readonly host: string;
  readonly port: number;
  /** The `listen` string as written ("127.0.0.1:8950"). */
  readonly listen: string;
  /** Environment variable holding the bearer token. Default EBM_API_TOKEN (unless tokenFile is given). */
  readonly tokenEnv?: string;
  /** File holding the bearer token (first line). */
  readonly tokenFile?: string;
}

export interface StateConfig {
  /** Directory of the host's own state. Default /var/lib/ebm as root, else $XDG_STATE_HOME/ebm or ~/.local/state/ebm. */
  readonly dir: string;
  /** `<dir>/catalog.sqlite`: the catalog (rebuildable from the repositories). */
  readonly catalogFile: string;
  /** `<dir>/jobs.jsonl`: the job journal (JSON lines; a `jobs.sqlite` of an older host beside it is read and migrated at start-up). */
  readonly jobsFile: string;
  /** `<dir>/scheduler.json`: last fire time per dataset. */
  readonly schedulerFile: string;
  /** `<dir>/costs.json`: the memory the queue learned each (translator, dataset) uses. */
  readonly costsFile: string;
}

export type ConfigLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogConfig {
  /** Default info. */
  readonly level: ConfigLogLevel;
  /** Absolute path of a JSON-lines log file; absent = stderr. */
  readonly file?: string;
}

export interface PluginsConfig {
  /** Extra directories searched for plugin packages (like EBM_PLUGIN_PATH). Default []. */
  readonly paths: readonly string[];
  /** A plugin is unloaded after this long without jobs. Default 30s. */
  readonly idleTimeoutMs: number;
  /** A job fails with E_PLUGIN_TIMEOUT when its plugin is silent this long. Default 2m. */
  readonly stallTimeoutMs: number;
  /** Time a cancelled plugin gets to stop before its worker is terminated. Default 5s. */
  readonly cancelGraceMs: number;
  /** Heap limit overrides (MiB) by plugin id. Default {}. */
  readonly heapMiB: Readonly<Record<string, number>>;
  /** Old-generation floor of plugin workers before a full GC (HostConfig.workerOldSpaceFloorMiB); 0 = V8's default (the default). */
  readonly workerGcFloorMiB: number;
}

export interface ShutdownConfig {
  /** On SIGTERM, running jobs get this long to finish before they are cancelled. Default 30s. */
  readonly graceMs: number;
}

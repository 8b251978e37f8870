import { DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB } from '../plugin-host/worker-heap';
import type { EncryptionAlgorithm } from '../crypto/object-cipher';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OptionValue } from '@ebm/sdk';
import type { ForgetPolicy } from '../snapshots/forget-policy';
import type { ApiConfig, Budgets, ConfigLogLevel, DatasetConfig, HostConfiguration, JournalConfig, LayeredDatasetConfig, RepositoryConfigEntry } from './config-types';
import { parseDuration } from './duration';

/**
 * Applies the defaults to a value that passed the schema and the semantic
 * checks, and converts durations to milliseconds. Only called on valid input:
 * the casts below rest on that.
 */

export const CONFIG_DEFAULTS = Object.freeze({
  translator: 'filesystem',
  compressionLevel: 3,
  maxConcurrentIo: 4,
  verify: true,
  priority: 0,
  retry: Object.freeze({ attempts: 3, backoffMs: 30_000, maxBackoffMs: 600_000 }),
  budgets: Object.freeze({ workers: 2, memoryMiB: 1024, ioStreamsPerRepository: 2 }),
  listen: '127.0.0.1:8950',
  tokenEnv: 'EBM_API_TOKEN',
  logLevel: 'info' as ConfigLogLevel,
  idleTimeoutMs: 30_000,
  stallTimeoutMs: 120_000,
  cancelGraceMs: 5_000,
  workerGcFloorMiB: DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB,
  shutdownGraceMs: 30_000,
});

/** /var/lib/ebm for root; otherwise $XDG_STATE_HOME/ebm or ~/.local/state/ebm. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/ebm';
  const xdg = env['XDG_STATE_HOME'];
  return path.join(xdg !== undefined && xdg.startsWith('/') ? xdg : path.join(os.homedir(), '.local', 'state'), 'ebm');
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (typeof v === 'object' && v !== null ? (v as Raw) : {});
const ms = (v: unknown, fallback: number): number => (typeof v === 'string' ? parseDuration(v)! : fallback);

export function resolveConfig(raw: unknown, configFile: string): HostConfiguration {
  const root = obj(raw);
  const repositories: Record<string, RepositoryConfigEntry> = {};
  for (const [name, value] of Object.entries(obj(root['repositories']))) repositories[name] = resolveRepository(name, obj(value));
  const datasets: Record<string, DatasetConfig> = {};
  for (const [name, value] of Object.entries(obj(root['datasets']))) datasets[name] = resolveDataset(name, obj(value), repositories);
  const budgets = { ...CONFIG_DEFAULTS.budgets, ...(obj(root['budgets']) as Partial<Budgets>) };
  const stateDir = (obj(root['state'])['dir'] as string | undefined) ?? defaultStateDir();
  const log = obj(root['log']);
  const plugins = obj(root['plugins']);
  return deepFreeze({
    configFile,
    repositories,
    datasets,
    budgets,
    api: resolveApi(obj(root['api'])),
    state: {
      dir: stateDir,
      catalogFile: path.join(stateDir, 'catalog.sqlite'),
      jobsFile: path.join(stateDir, 'jobs.jsonl'), // JOURNAL_FILE_NAME; a jobs.sqlite left by an older host is migrated by recoverJournal
      schedulerFile: path.join(stateDir, 'scheduler.json'),
      costsFile: path.join(stateDir, 'costs.json'),
    },
    log: {
      level: (log['level'] as ConfigLogLevel | undefined) ?? CONFIG_DEFAULTS.logLevel,
      ...(log['file'] === undefined ? {} : { file: log['file'] as string }),
    },
    plugins: {
      paths: (plugins['paths'] as string[] | undefined) ?? [],
      idleTimeoutMs: ms(plugins['idleTimeout'], CONFIG_DEFAULTS.idleTimeoutMs),
      stallTimeoutMs: ms(plugins['stallTimeout'], CONFIG_DEFAULTS.stallTimeoutMs),
      cancelGraceMs: ms(plugins['cancelGrace'], CONFIG_DEFAULTS.cancelGraceMs),
      heapMiB: (plugins['heapMiB'] as Record<string, number> | undefined) ?? {},
      workerGcFloorMiB: (plugins['workerGcFloorMiB'] as number | undefined) ?? CONFIG_DEFAULTS.workerGcFloorMiB,
    },
    shutdown: { graceMs: ms(obj(root['shutdown'])['grace'], CONFIG_DEFAULTS.shutdownGraceMs) },
  });
}

function resolveRepository(name: string, r: Raw): RepositoryConfigEntry {
  return {
    name,
    path: r['path'] as string,
    encryption: (r['encryption'] as EncryptionAlgorithm | undefined) ?? 'aes-256-gcm',
    ...(r['passwordEnv'] === undefined ? {} : { passwordEnv: r['passwordEnv'] as string }),
    ...(r['passwordFile'] === undefined ? {} : { passwordFile: r['passwordFile'] as string }),
    compressionLevel: (r['compressionLevel'] as number | undefined) ?? CONFIG_DEFAULTS.compressionLevel,
    maxConcurrentIo: (r['maxConcurrentIo'] as number | undefined) ?? CONFIG_DEFAULTS.maxConcurrentIo,
    verify: (r['verify'] as boolean | undefined) ?? CONFIG_DEFAULTS.verify,
    ...(r['bandwidthLimitKiBps'] === undefined ? {} : { bandwidthLimitKiBps: r['bandwidthLimitKiBps'] as number }),
  };
}

function resolveDataset(name: string, d: Raw, repositories: Readonly<Record<string, RepositoryConfigEntry>>): DatasetConfig {
  const retry = obj(d['retry']);
  const repository = d['repository'] as string;
  return {
    name,
    translator: (d['provider'] as string | undefined) ?? (d['translator'] as string | undefined) ?? CONFIG_DEFAULTS.translator,
    source: d['source'] as string,
    repository,
    ...(d['schedule'] === undefined ? {} : { schedule: (d['schedule'] as string).trim() }),
    ...(d['timezone'] === undefined ? {} : { timezone: d['timezone'] as string }),
    ...(d['retention'] === undefined ? {} : { retention: d['retention'] as ForgetPolicy }),
    options: (d['options'] as Record<string, OptionValue> | undefined) ?? {},
    tags: (d['tags'] as string[] | undefined) ?? [],
    priority: (d['priority'] as number | undefined) ?? CONFIG_DEFAULTS.priority,
    ...(d['compressionLevel'] === undefined ? {} : { compressionLevel: d['compressionLevel'] as number }),
    ...(d['deadline'] === undefined ? {} : { deadlineMs: ms(d['deadline'], 0) }),
    retry: {
      attempts: (retry['attempts'] as number | undefined) ?? CONFIG_DEFAULTS.retry.attempts,
      backoffMs: ms(retry['backoff'], CONFIG_DEFAULTS.retry.backoffMs),
      maxBackoffMs: ms(retry['maxBackoff'], Math.max(CONFIG_DEFAULTS.retry.maxBackoffMs, ms(retry['backoff'], 0))),
    },
    verify: (d['verify'] as boolean | undefined) ?? repositories[repository]?.verify ?? CONFIG_DEFAULTS.verify,
    ...journalOf(obj(d['journal']), d['journal'] !== undefined),
    ...layeredOf(name, d),
  };
}

function layeredOf(name: string, d: Raw): { layered?: LayeredDatasetConfig } {
  if (d['provider'] === undefined) return {};
  const baseSnapshot = d['baseSnapshot'] as string | undefined;
  return { layered: { provider: d['provider'] as string, endpoint: (d['endpoint'] as string | undefined) ?? name, layers: (d['layers'] as string[] | undefined) ?? [], ...(baseSnapshot !== undefined ? { baseSnapshot } : {}) } };
}

function journalOf(j: Raw, given: boolean): { journal?: JournalConfig } {
  if (!given || j['enabled'] === false) return {};
  return { journal: { fullScanEvery: (j['fullScanEvery'] as number | undefined) ?? 0, maxPaths: (j['maxPaths'] as number | undefined) ?? 100_000 } };
}

function resolveApi(a: Raw): ApiConfig {
  const listen = (a['listen'] as string | undefined) ?? CONFIG_DEFAULTS.listen;
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const token =
    a['tokenFile'] !== undefined ? { tokenFile: a['tokenFile'] as string } : { tokenEnv: (a['tokenEnv'] as string | undefined) ?? CONFIG_DEFAULTS.tokenEnv };
  return { listen, host, port: Number(listen.slice(colon + 1)), ...token };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

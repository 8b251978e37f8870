import { EbmError, validateLayerReport } from '@ebm/sdk';
import type { LayerFile, LayerReport, OptionValue } from '@ebm/sdk';
import { defaultCatalogFile } from '../catalog/catalog-file';
import { readDiscoveries } from '../catalog/discoveries';
import type { DiscoveryRecord } from '../catalog/discoveries';
import type { HostConfiguration } from '../config/config-types';
import { LayerQueryService } from '../discover/layer-query-service';
import { layeredRecordOf } from '../layers/endpoint-snapshot';
import type { PluginHost } from '../plugin-host/plugin-host';
import type { JobQueue } from '../queue/job-queue';
import type { PluginRegistry } from '../plugin-host/plugin-registry';
import { listSnapshots } from '../snapshots/snapshot-store';
import type { ApiDiscovery, DiscoveredEndpointBackup, DiscoveryFilesRequest, DiscoveryFilesResult, DiscoveryFilter } from '../api/runtime-facade';
import type { RepositoryRegistry } from './repository-registry';

/**
 * Browsing what `ebm discover` recorded, in the host process (docs/layers.md,
 * "Browsing"): the records of the catalogs the host can see, each discovered
 * endpoint's newest layered backup, and a discovered layer's files asked live
 * of its layer provider.
 *
 * Catalogs read (read-only; the CLI writes them): the host's own
 * (`state.catalogFile`; `ebm discover -r REPO --catalog-file` that file), and
 * for each configured repository the CLI's default catalog of it
 * (`$XDG_CACHE_HOME/ebm/catalog-<repository id>.sqlite` as the host's user
 * sees it: a plain `ebm discover -r REPO` run as the same user).
 */
export interface DiscoveryHost {
  readonly config: HostConfiguration;
  readonly repositories: RepositoryRegistry;
  readonly registry: PluginRegistry;
  readonly pluginHost: PluginHost;
  /** Charges a live query to the budgets like a job (JobQueue.withBudget). */
  readonly queue: Pick<JobQueue, 'withBudget'>;
}

interface Located extends DiscoveryRecord {
  /** Absent: the host's own catalog. */
  readonly repository?: string;
}

interface CatalogRef {
  readonly file: string;
  readonly repository?: string;
}

export async function listDiscoveries(host: DiscoveryHost, filter: DiscoveryFilter): Promise<ApiDiscovery[] | undefined> {
  const found = await readAll(host, filter);
  if (found === undefined) return undefined;
  const records = filter.all ? found : newestOnly(found);
  const backups = records.some(isLayered) ? await endpointBackups(host, filter.repository ? [filter.repository] : host.repositories.names()) : new Map<string, DiscoveredEndpointBackup>();
  return records.map((d) => ({
    plugin: d.plugin,
    pluginVersion: d.pluginVersion,
    pluginKind: d.pluginKind,
    source: d.source,
    time: d.time,
    ...(d.repository !== undefined ? { repository: d.repository } : {}),
    report: d.report,
    ...(isLayered(d) ? { backup: backups.get(key(d.plugin, reportSource(d))) ?? backups.get(key(d.plugin, d.source)) ?? null } : {}),
  }));
}

export async function discoveryFiles(host: DiscoveryHost, request: DiscoveryFilesRequest): Promise<DiscoveryFilesResult> {
  const found = await readAll(host, { source: request.source, ...(request.plugin !== undefined ? { plugin: request.plugin } : {}), ...(request.repository !== undefined ? { repository: request.repository } : {}) });
  if (found === undefined) return { found: false, missing: 'repository', message: `no repository named ${JSON.stringify(request.repository)}` };
  const newest = newestOnly(found);
  const where = `${request.plugin !== undefined ? ` by ${request.plugin}` : ''}${request.repository !== undefined ? ` in the catalog of repository ${request.repository}` : ''}`;
  if (newest.length === 0) return { found: false, missing: 'discovery', message: `no discovery of ${JSON.stringify(request.source)}${where} is recorded` };
  const layered = newest.filter(isLayered);
  if (layered.length === 0) {
    throw new EbmError('E_USAGE', `the discovery of ${JSON.stringify(request.source)} by ${newest.map((d) => `${d.plugin} (a ${d.pluginKind})`).join(', ')} has no layers: only a layer provider's discovery has layer files to list`, { subject: request.source });
  }
  const plugins = [...new Set(layered.map((d) => d.plugin))];
  if (plugins.length > 1) {
    throw new EbmError('E_USAGE', `several layer providers discovered ${JSON.stringify(request.source)} (${plugins.join(', ')}): name one with plugin`, { subject: request.source });
  }
  const d = layered[0]!; // the newest
  const report: LayerReport = validateLayerReport(d.report, d.plugin);
  const info = report.layers.find((l) => l.id === request.layer);
  if (info === undefined) {
    return { found: false, missing: 'layer', message: `the discovery of ${JSON.stringify(d.source)} by ${d.plugin} (${d.time}) has no layer ${JSON.stringify(request.layer)} (layers: ${report.layers.map((l) => `${l.id} (${l.kind})`).join(', ')})` };
  }

  // The provider answers from the source as it is now, validated against the recorded report (whose layer ids the client saw).
  const service = new LayerQueryService(host.pluginHost, host.registry);
  const files: LayerFile[] = [];
  let seen = 0;
  let more = false;
  // A worker like a job's: charged to the budgets while it lists (waits for one when they are full).
  await host.queue.withBudget(d.plugin, `the files query of layer ${info.id} of ${d.source}`, request.signal, async () => {
    for await (const batch of service.files({
      // The options the discovery ran with; a record from before they were kept: a configured dataset's.
      plugin: d.plugin, source: d.source, layer: info.id, report, options: d.options ?? optionsFor(host.config, d.plugin, [d.source, report.source]),
      ...(request.signal ? { signal: request.signal } : {}),
    })) {
      for (const f of batch) {
        if (seen >= request.offset + request.limit) {
          more = true;
          break;
        }
        if (seen >= request.offset) files.push({ path: f.path, type: f.type, size: f.size });
        seen += 1;
      }
      if (more) break; // stops the query: the job is cancelled and its worker lets go
    }
  });
  return {
    found: true,
    listing: {
      plugin: d.plugin,
      source: d.source,
      time: d.time,
      layer: { id: info.id, kind: info.kind, name: info.name, order: info.order, files: info.files },
      offset: request.offset,
      limit: request.limit,
      files,
      more,
      ...(more ? {} : { total: seen }),
    },
  };
}

/** The catalogs to read: one configured repository's, or the host's own and every repository's. `undefined`: no such repository. */
async function catalogsOf(host: DiscoveryHost, repository?: string): Promise<CatalogRef[] | undefined> {
  if (repository !== undefined && !host.repositories.names().includes(repository)) return undefined;
  const out: CatalogRef[] = repository === undefined ? [{ file: host.config.state.catalogFile }] : [];
  for (const name of repository !== undefined ? [repository] : host.repositories.names()) {
    const file = defaultCatalogFile((await host.repositories.open(name)).config.id);
    if (!out.some((c) => c.file === file)) out.push({ file, repository: name });
  }
  return out;
}

/** Every record of the catalogs (a record found in two of them once), newest first. */
async function readAll(host: DiscoveryHost, filter: Omit<DiscoveryFilter, 'all'>): Promise<Located[] | undefined> {
  const catalogs = await catalogsOf(host, filter.repository);
  if (catalogs === undefined) return undefined;
  const seen = new Set<string>();
  const out: Located[] = [];
  for (const c of catalogs) {
    for (const d of readDiscoveries(c.file, filter.plugin !== undefined ? { plugin: filter.plugin } : {})) {
      if (filter.source !== undefined && d.source !== filter.source && reportSource(d) !== filter.source) continue;
      const id = `${key(d.plugin, d.source)}\0${d.time}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(c.repository !== undefined ? { ...d, repository: c.repository } : d);
    }
  }
  return out.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

function newestOnly(records: readonly Located[]): Located[] {
  const seen = new Set<string>();
  return records.filter((d) => {
    const k = key(d.plugin, d.source);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The newest endpoint snapshot of each (provider, normalised source) in these repositories. */
async function endpointBackups(host: DiscoveryHost, repositories: readonly string[]): Promise<Map<string, DiscoveredEndpointBackup>> {
  const out = new Map<string, DiscoveredEndpointBackup>();
  for (const name of repositories) {
    const { snapshots } = await listSnapshots(await host.repositories.open(name));
    for (const s of snapshots) {
      let record;
      try {
        record = layeredRecordOf(s);
      } catch {
        continue; // a malformed record: not a link worth offering
      }
      if (record === undefined) continue;
      const k = key(record.provider.id, record.source);
      const had = out.get(k);
      if (had === undefined || had.time < s.time) out.set(k, { repository: name, snapshot: s.id, dataset: s.dataset, time: s.time });
    }
  }
  return out;
}

/** The options of a configured layered dataset of this source (a layer map's `map`, say): the discovery record does not keep the CLI's. */
function optionsFor(config: HostConfiguration, plugin: string, sources: readonly string[]): Readonly<Record<string, OptionValue>> {
  const ds = Object.values(config.datasets).find((d) => d.layered?.provider === plugin && sources.includes(d.source));
  return ds?.options ?? {};
}

function isLayered(d: DiscoveryRecord): boolean {
  return d.pluginKind === 'layer-provider';
}

function reportSource(d: DiscoveryRecord): string {
  const s = (d.report as { source?: unknown }).source;
  return typeof s === 'string' ? s : d.source;
}

function key(plugin: string, source: string): string {
  return `${plugin}\0${source}`;
}

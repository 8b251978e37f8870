import * as fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { DiscoveryReport, OptionValue, PluginKind } from '@ebm/sdk';

/**
 * Discoveries in the catalog: what `ebm discover` (or a layer-aware backup)
 * learnt about a source — a database's tables, an endpoint's layers — kept so
 * it can be listed and browsed later without running the plugin again.
 *
 * Unlike the rest of the catalog this is not derived from the repository, so
 * a rebuild carries the rows over from the old file (see carryOver).
 */
export const DISCOVERIES_SQL = `
CREATE TABLE discoveries (
  id             INTEGER PRIMARY KEY,
  plugin         TEXT NOT NULL,
  plugin_version TEXT NOT NULL,
  plugin_kind    TEXT NOT NULL,
  source         TEXT NOT NULL,
  time           TEXT NOT NULL,     -- ISO 8601, when the discovery finished
  report         TEXT NOT NULL,     -- the plugin's report, JSON
  options        TEXT               -- a layer provider's options, JSON; NULL: none recorded
);
CREATE INDEX discoveries_by_source ON discoveries (source, plugin, time);
`;

/** One discovery: which plugin looked at which source, when (ISO 8601, when it finished), and its report. */
export interface DiscoveryRecord {
  readonly plugin: string;
  readonly pluginVersion: string;
  readonly pluginKind: PluginKind;
  readonly source: string;
  readonly time: string;
  readonly report: DiscoveryReport;
  /**
   * The options a layer provider's discovery ran with (e.g. a layer map's
   * `map`), so browsing its layers later asks the provider the same way.
   * Absent for a translator's discovery (nothing is asked of it later, and
   * translator options may carry secrets, such as a producer command) and
   * for records made before options were kept.
   */
  readonly options?: Readonly<Record<string, OptionValue>>;
}

interface DiscoveryRow {
  readonly plugin: string;
  readonly plugin_version: string;
  readonly plugin_kind: string;
  readonly source: string;
  readonly time: string;
  readonly report: string;
  /** Absent in a catalog file from before the column existed (read-only readers see it as it is). */
  readonly options?: string | null;
}

export function recordDiscovery(db: Database, record: DiscoveryRecord): void {
  db.prepare('INSERT INTO discoveries (plugin, plugin_version, plugin_kind, source, time, report, options) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(record.plugin, record.pluginVersion, record.pluginKind, record.source, record.time, JSON.stringify(record.report), record.options === undefined ? null : JSON.stringify(record.options));
}

/**
 * Adds what later versions added to an existing discoveries table (the
 * `options` column), in place: discoveries are not derived from the
 * repository, so they are migrated, never rebuilt. Idempotent.
 */
export function upgradeDiscoveries(db: Database): void {
  const columns = db.prepare('SELECT name FROM pragma_table_info(?)').all('discoveries') as Array<{ name: string }>;
  if (columns.length > 0 && !columns.some((c) => c.name === 'options')) db.exec('ALTER TABLE discoveries ADD COLUMN options TEXT');
}

export interface DiscoveryFilter {
  readonly source?: string;
  readonly plugin?: string;
  /** Only the newest discovery of each (plugin, source). */
  readonly latestOnly?: boolean;
}

/** Discoveries, newest first. */
export function listDiscoveries(db: Database, filter: DiscoveryFilter = {}): DiscoveryRecord[] {
  const where: string[] = [];
  const args: string[] = [];
  if (filter.source !== undefined) (where.push('d.source = ?'), args.push(filter.source));
  if (filter.plugin !== undefined) (where.push('d.plugin = ?'), args.push(filter.plugin));
  if (filter.latestOnly) where.push('d.id = (SELECT max(id) FROM discoveries e WHERE e.source = d.source AND e.plugin = d.plugin)');
  const sql = `SELECT * FROM discoveries d ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.time DESC, d.id DESC`;
  return (db.prepare(sql).all(...args) as DiscoveryRow[]).map((r) => ({
    plugin: r.plugin,
    pluginVersion: r.plugin_version,
    pluginKind: r.plugin_kind as PluginKind,
    source: r.source,
    time: r.time,
    report: JSON.parse(r.report) as DiscoveryReport,
    ...(r.options !== undefined && r.options !== null ? { options: JSON.parse(r.options) as Record<string, OptionValue> } : {}),
  }));
}

/**
 * The discoveries of a catalog file, read without changing it (a read-only
 * connection: no schema is created, nothing is rebuilt or moved aside). A file
 * that does not exist, or that has no discoveries table yet, holds none. Used
 * by the host to serve catalogs the CLI writes (GET /api/v1/discoveries).
 */
export function readDiscoveries(file: string, filter: DiscoveryFilter = {}): DiscoveryRecord[] {
  if (!fs.existsSync(file)) return [];
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'discoveries'").get();
    return table === undefined ? [] : listDiscoveries(db, filter);
  } finally {
    db.close();
  }
}

/**
 * Copies the discoveries of an older catalog file into `db` (a rebuild).
 * Best effort: an unreadable old file, or one without the table, copies
 * nothing — it is being replaced because it may be damaged.
 */
export function carryOverDiscoveries(db: Database, oldFile: string): number {
  // ATTACH would create a missing file: only attach one that exists.
  if (!fs.existsSync(oldFile)) return 0;
  try {
    db.prepare('ATTACH DATABASE ? AS old').run(oldFile);
  } catch {
    return 0;
  }
  try {
    const oldColumns = db.prepare("SELECT name FROM pragma_table_info('discoveries', 'old')").all() as Array<{ name: string }>;
    const options = oldColumns.some((c) => c.name === 'options') ? 'options' : 'NULL';
    const info = db.prepare(`INSERT INTO discoveries (plugin, plugin_version, plugin_kind, source, time, report, options)
      SELECT plugin, plugin_version, plugin_kind, source, time, report, ${options} FROM old.discoveries ORDER BY id`).run();
    return info.changes;
  } catch {
    return 0;
  } finally {
    db.exec('DETACH DATABASE old');
  }
}

import type { JsonValue, TreeEntry } from '@ebm/sdk';
import type { DatabaseInfo, JournalMode } from '../database/database-info';
import type { IntegrityCheck } from '../options';

/**
 * The two entries a backup writes (the representation, documented in
 * docs/plugins.md, section "translator-sqlite"):
 *
 * - `<name>` — a `file` entry holding the database's pages, 1 to N, in fixed
 *   runs of `runPages` consecutive pages (never content-defined: SQLite
 *   changes whole pages in place). Its `meta` is a DatabaseMeta.
 *   Version 1: the content is the database file byte for byte.
 *   Version 2 (written now): the content is, per segment of `segmentRuns`
 *   runs, the segment's delta block (delta/delta-block.ts) followed by the
 *   key image of each of its runs; a run is its key image patched with its
 *   delta. `size` is the content's length, not the database's
 *   (pageSize × pageCount).
 * - `<name>.ebm-page-hashes` — a `file` entry whose content is the page-hash
 *   manifest (page-manifest.ts), with a PageHashesMeta; restore skips it.
 */
export const DATABASE_FORMAT = 'sqlite-database';
export const PAGE_HASHES_FORMAT = 'sqlite-page-hashes';
/** The version this translator writes; it reads 1 and 2. */
export const FORMAT_VERSION = 2;
export type FormatVersion = 1 | 2;
export const PAGE_HASHES_SUFFIX = '.ebm-page-hashes';

export interface DatabaseMeta {
  readonly format: typeof DATABASE_FORMAT;
  readonly version: FormatVersion;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly runPages: number;
  /** Version 2: runs per segment (one delta block each). */
  readonly segmentRuns?: number;
  readonly journalMode: JournalMode;
  readonly encoding: string;
  readonly userVersion: number;
  readonly applicationId: number;
  readonly schemaVersion: number;
  readonly freelistCount: number;
  readonly autoVacuum: number;
  readonly schema: DatabaseInfo['schema'];
  /** Name of the sibling entry holding this database's page hashes. */
  readonly pageHashes: string;
  /** The SQLite check these pages passed inside the backup's read transaction (absent: unknown). */
  readonly integrityChecked?: IntegrityCheck;
}

export interface PageHashesMeta {
  readonly format: typeof PAGE_HASHES_FORMAT;
  readonly version: FormatVersion;
  /** Name of the database entry these hashes describe. */
  readonly database: string;
  readonly hash: 'sha256';
  readonly pageSize: number;
  readonly pageCount: number;
  readonly runPages: number;
  /** Version 2, as the database entry's. */
  readonly segmentRuns?: number;
}

export function databaseMeta(info: DatabaseInfo, runPages: number, segmentRuns: number, pageHashes: string, integrityChecked: IntegrityCheck): DatabaseMeta {
  return {
    format: DATABASE_FORMAT,
    version: FORMAT_VERSION,
    pageSize: info.pageSize,
    pageCount: info.pageCount,
    runPages,
    segmentRuns,
    journalMode: info.journalMode,
    encoding: info.encoding,
    userVersion: info.userVersion,
    applicationId: info.applicationId,
    schemaVersion: info.schemaVersion,
    freelistCount: info.freelistCount,
    autoVacuum: info.autoVacuum,
    schema: info.schema,
    pageHashes,
    integrityChecked,
  };
}

/** The entry's format marker, or undefined when the entry was not written by this translator. */
export function entryFormat(entry: TreeEntry): string | undefined {
  const format = entry.meta?.format;
  return typeof format === 'string' ? format : undefined;
}

/** The DatabaseMeta of an entry, or a reason why it is not one this version can use. */
export function readDatabaseMeta(entry: TreeEntry): DatabaseMeta | string {
  const m = entry.meta;
  if (entry.kind !== 'file' || m === undefined || m.format !== DATABASE_FORMAT) return 'it is not a database entry of the sqlite translator';
  if (m.version !== 1 && m.version !== 2) return `it has format version ${String(m.version)}, this translator reads versions 1 and 2`;
  const bad = firstBadNumber(m, m.version === 2 ? ['pageSize', 'pageCount', 'runPages', 'segmentRuns'] : ['pageSize', 'pageCount', 'runPages']);
  if (bad !== undefined) return `its meta.${bad} is not a whole number`;
  if (m.journalMode !== 'wal' && m.journalMode !== 'delete') return 'its meta.journalMode is neither "wal" nor "delete"';
  if (typeof m.pageHashes !== 'string') return 'its meta.pageHashes is missing';
  const databaseBytes = (m.pageSize as number) * (m.pageCount as number);
  if (m.version === 1 && entry.size !== databaseBytes) return `its size ${String(entry.size)} is not pageSize × pageCount`;
  if (m.version === 2 && (typeof entry.size !== 'number' || entry.size < databaseBytes)) return `its size ${String(entry.size)} is less than pageSize × pageCount`;
  return m as unknown as DatabaseMeta;
}

/** The PageHashesMeta of an entry, or a reason why it is not usable. */
export function readPageHashesMeta(entry: TreeEntry): PageHashesMeta | string {
  const m = entry.meta;
  if (entry.kind !== 'file' || m === undefined || m.format !== PAGE_HASHES_FORMAT) return 'it is not a page-hash entry of the sqlite translator';
  if ((m.version !== 1 && m.version !== 2) || m.hash !== 'sha256') return `it has format version ${String(m.version)} / hash ${String(m.hash)}`;
  const bad = firstBadNumber(m, m.version === 2 ? ['pageSize', 'pageCount', 'runPages', 'segmentRuns'] : ['pageSize', 'pageCount', 'runPages']);
  if (bad !== undefined) return `its meta.${bad} is not a whole number`;
  return m as unknown as PageHashesMeta;
}

function firstBadNumber(meta: { readonly [key: string]: JsonValue }, keys: readonly string[]): string | undefined {
  return keys.find((k) => {
    const v = meta[k];
    return typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || (k !== 'pageCount' && v === 0);
  });
}

/** The meta as the JSON the tree stores. */
export function asJson(meta: DatabaseMeta | PageHashesMeta): { readonly [key: string]: JsonValue } {
  return meta as unknown as { readonly [key: string]: JsonValue };
}

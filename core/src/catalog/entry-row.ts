import { createHash } from 'node:crypto';
import type { EntryKind, ErrorCode, TreeEntry } from '@ebm/sdk';
import type { CatalogEntry } from './catalog-types';

/** The columns of `entries` besides tree, pos, name and subtree, as stored. */
export interface EntryColumns {
  readonly kind: string;
  readonly size: number | null;
  readonly mode: number | null;
  readonly uid: number | null;
  readonly gid: number | null;
  readonly user: string | null;
  readonly grp: string | null;
  readonly mtime_ns: string | null;
  readonly fingerprint: string | null;
  readonly target: string | null;
  readonly link_to: string | null;
  readonly layer: string | null;
}

/** A row read back: the columns plus the name. */
export interface EntryRow extends EntryColumns {
  readonly name: string;
}

/** The column list matching EntryRow, for SELECTs (`e` = entries, `n` = names). */
export const ENTRY_SELECT = 'n.name AS name, e.kind, e.size, e.mode, e.uid, e.gid, e.user, e.grp, e.mtime_ns, e.fingerprint, e.target, e.link_to, e.layer';

export function entryColumns(e: TreeEntry): EntryColumns {
  return {
    kind: e.kind,
    size: e.size ?? null,
    mode: e.mode ?? null,
    uid: e.uid ?? null,
    gid: e.gid ?? null,
    user: e.user ?? null,
    grp: e.group ?? null,
    mtime_ns: e.mtimeNs ?? null,
    fingerprint: fingerprint(e),
    target: e.target ?? null,
    link_to: e.linkTo ?? null,
    layer: layerOf(e),
  };
}

/**
 * Equal content ⇒ equal fingerprint: content blob ids are keyed hashes of
 * the chunks, so the hash of the ordered id list identifies the content
 * within one repository without reading it.
 */
export function fingerprint(e: TreeEntry): string | null {
  if (e.kind === 'dir') return e.subtree ?? null;
  if (!e.content) return null;
  return createHash('sha256').update(e.content.join('\n')).digest('hex');
}

/** The layer of an entry: a top-level `layer` field or `meta.layer` (the layer issue decides which). */
function layerOf(e: TreeEntry): string | null {
  const direct = (e as { readonly layer?: unknown }).layer;
  if (typeof direct === 'string') return direct;
  const fromMeta = e.meta?.layer;
  return typeof fromMeta === 'string' ? fromMeta : null;
}

export function rowToEntry(path: string, r: EntryRow, errorCode?: ErrorCode): CatalogEntry {
  const out: { -readonly [K in keyof CatalogEntry]?: CatalogEntry[K] } = { path, name: r.name, kind: r.kind as EntryKind };
  if (r.size !== null) out.size = r.size;
  if (r.mode !== null) out.mode = r.mode;
  if (r.uid !== null) out.uid = r.uid;
  if (r.gid !== null) out.gid = r.gid;
  if (r.user !== null) out.user = r.user;
  if (r.grp !== null) out.group = r.grp;
  if (r.mtime_ns !== null) out.mtimeNs = r.mtime_ns;
  if (r.fingerprint !== null) out.fingerprint = r.fingerprint;
  if (r.target !== null) out.target = r.target;
  if (r.link_to !== null) out.linkTo = r.link_to;
  if (r.layer !== null) out.layer = r.layer;
  if (errorCode !== undefined) out.errorCode = errorCode;
  return out as CatalogEntry;
}

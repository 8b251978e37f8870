/**
 * Test fixtures for the catalog tests: snapshots built directly from trees
 * (BlobStore + encodeTree + saveSnapshot), with controllable times and rich
 * metadata, and a canonical dump of what a catalog answers. Not used by
 * production code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { computeBlobId, encodeTree } from '@ebm/sdk';
import type { TreeEntry, Warning } from '@ebm/sdk';
import { LocalBackend } from '../backend/local-backend';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import { initTestRepository } from '../repository/test-repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot, saveSnapshot } from '../snapshots/snapshot-store';
import { makeSnapshot } from '../snapshots/test-snapshot';
import type { Catalog } from './catalog';

/** path → file content, or a symlink. Directories are implied by the paths. */
export type Layout = Readonly<Record<string, string | { readonly symlink: string }>>;

export function tempDir(prefix = 'ebm-catalog-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A repository in a real directory. */
export async function localRepository(dir: string): Promise<Repository> {
  return initTestRepository(new LocalBackend(path.join(dir, 'repo')));
}

interface Dir {
  readonly dirs: Map<string, Dir>;
  readonly leaves: Map<string, string | { readonly symlink: string }>;
}

/** Stores `layout` as a snapshot of `dataset` taken at `time`; returns the saved record. */
export async function snapshotOf(
  repo: Repository,
  layout: Layout,
  options: { dataset?: string; time?: string; warnings?: Warning[] } = {},
): Promise<SnapshotRecord> {
  const store = await BlobStore.open(repo);
  const put = async (kind: 'data' | 'tree', data: Buffer): Promise<string> => {
    const id = computeBlobId(repo.keys.id, data);
    await store.saveBlob(kind, id, data);
    return id;
  };
  const root: Dir = { dirs: new Map(), leaves: new Map() };
  for (const [p, leaf] of Object.entries(layout)) {
    const parts = p.split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let sub = dir.dirs.get(part);
      if (!sub) dir.dirs.set(part, (sub = { dirs: new Map(), leaves: new Map() }));
      dir = sub;
    }
    dir.leaves.set(parts[parts.length - 1]!, leaf);
  }
  const mtimeNs = '1700000000123456789';
  const storeDir = async (dir: Dir): Promise<string> => {
    const entries: TreeEntry[] = [];
    for (const [name, sub] of dir.dirs) entries.push({ name, kind: 'dir', mode: 0o40755, uid: 1000, gid: 1000, user: 'alice', group: 'staff', mtimeNs, subtree: await storeDir(sub) });
    for (const [name, leaf] of dir.leaves) {
      if (typeof leaf === 'string') {
        const content = leaf === '' ? [] : [await put('data', Buffer.from(leaf))];
        entries.push({ name, kind: 'file', mode: 0o100644, uid: 1000, gid: 1000, user: 'alice', group: 'staff', mtimeNs, size: Buffer.byteLength(leaf), content });
      } else {
        entries.push({ name, kind: 'symlink', mode: 0o120777, uid: 0, gid: 0, mtimeNs, target: leaf.symlink });
      }
    }
    return put('tree', encodeTree(entries));
  };
  const tree = await storeDir(root);
  await store.flush();
  const base = makeSnapshot({ dataset: options.dataset ?? 'home', time: options.time ?? new Date().toISOString(), tree });
  const snapshot = { ...base, summary: { ...base.summary, warnings: options.warnings ?? [] } };
  const id = await saveSnapshot(repo, snapshot);
  return loadSnapshot(repo, id);
}

/** Everything the catalog answers for its snapshots, in a comparable form. */
export function dumpCatalog(catalog: Catalog): unknown {
  return catalog.snapshots().map((s) => ({ snapshot: s, entries: [...catalog.walk(s.snapshotId, '', true)] }));
}

/** Names and sizes of the synthetic large snapshot's files, by directory. */
export interface LargeLayout {
  /** Directory path → its file names in stored order, with sizes. */
  readonly dirs: ReadonlyMap<string, ReadonlyArray<{ name: string; size: number }>>;
  readonly files: number;
}

/**
 * A snapshot of `files` files written as tree blobs directly (no content is
 * stored: the catalog never reads content). `flat/` holds `flat` files, the
 * rest are spread over `nested/dNNN/` directories of `perDir` files each.
 */
export async function largeSnapshot(repo: Repository, options: { files: number; flat: number; perDir: number; time?: string; dataset?: string }): Promise<{ snapshot: SnapshotRecord; layout: LargeLayout }> {
  const store = await BlobStore.open(repo);
  const put = async (entries: TreeEntry[]): Promise<string> => {
    const data = encodeTree(entries);
    const id = computeBlobId(repo.keys.id, data);
    await store.saveBlob('tree', id, data);
    return id;
  };
  const fakeContent = (i: number) => [createHash('sha256').update(`content ${i}`).digest('hex')];
  const dirs = new Map<string, Array<{ name: string; size: number }>>();
  const fileEntries = (from: number, count: number, dirPath: string): TreeEntry[] => {
    const entries: TreeEntry[] = [];
    for (let i = from; i < from + count; i++) {
      entries.push({ name: `file-${String(i).padStart(6, '0')}.dat`, kind: 'file', mode: 0o100644, uid: 1000, gid: 1000, mtimeNs: `${1700000000 + i}000000000`, size: i * 7, content: fakeContent(i) });
    }
    dirs.set(dirPath, entries.map((e) => ({ name: e.name, size: e.size! })));
    return entries;
  };
  const flat = await put(fileEntries(0, options.flat, 'flat'));
  const nestedEntries: TreeEntry[] = [];
  for (let at = options.flat, d = 0; at < options.files; at += options.perDir, d++) {
    const name = `d${String(d).padStart(3, '0')}`;
    const count = Math.min(options.perDir, options.files - at);
    nestedEntries.push({ name, kind: 'dir', mode: 0o40755, subtree: await put(fileEntries(at, count, `nested/${name}`)) });
  }
  const nested = await put(nestedEntries);
  const tree = await put([
    { name: 'flat', kind: 'dir', mode: 0o40755, subtree: flat },
    { name: 'nested', kind: 'dir', mode: 0o40755, subtree: nested },
  ]);
  await store.flush();
  const id = await saveSnapshot(repo, makeSnapshot({ dataset: options.dataset ?? 'large', time: options.time ?? new Date().toISOString(), tree }));
  return { snapshot: await loadSnapshot(repo, id), layout: { dirs, files: options.files } };
}

/**
 * Test fixtures for the pack/index/blob-store, checker and prune tests:
 * repositories with small packs, and snapshots built from a map of files
 * (fixed-size chunks, real trees via encodeTree). Not used by production code.
 */
import { randomBytes } from 'node:crypto';
import { computeBlobId, decodeTree, encodeTree } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import type { Backend, Handle } from '../backend/backend';
import { MemoryBackend } from '../backend/memory-backend';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { loadSnapshot, saveSnapshot } from '../snapshots/snapshot-store';
import { BlobStore } from './blob-store';
import { Repository } from './repository';
import type { Snapshot } from './types';

export const TEST_PASSWORD = 'correct horse battery staple';

export async function newTestRepository(backend: Backend = new MemoryBackend(), packTargetSize = 4096): Promise<Repository> {
  return Repository.init(backend, TEST_PASSWORD, { kdf: FAST_TEST_SCRYPT_PARAMS, packTargetSize });
}

/** Incompressible bytes, or compressible ones (repeated text) when `compressible`. */
export function testBytes(size: number, compressible = false): Buffer {
  if (!compressible) return randomBytes(size);
  const unit = Buffer.from(`line ${randomBytes(4).toString('hex')} of some compressible text\n`);
  return Buffer.concat(Array.from({ length: Math.ceil(size / unit.length) }, () => unit)).subarray(0, size);
}

export type TestFiles = Readonly<Record<string, Buffer>>;

export interface TestSnapshot {
  readonly id: string;
  readonly tree: string;
  /** Every blob the snapshot references (trees and content). */
  readonly blobs: ReadonlySet<string>;
}

/**
 * Stores `files` (POSIX paths → content; directories implied) as a snapshot:
 * content in `chunkSize` chunks, one tree per directory, then flush, then the
 * snapshot file. Uses `store` if given (and leaves it open), else its own.
 */
export async function backupFiles(repo: Repository, files: TestFiles, options: { store?: BlobStore; chunkSize?: number; dataset?: string } = {}): Promise<TestSnapshot> {
  const store = options.store ?? (await BlobStore.open(repo));
  const chunkSize = options.chunkSize ?? 1000;
  const blobs = new Set<string>();
  const put = async (kind: 'data' | 'tree', data: Buffer): Promise<string> => {
    const id = computeBlobId(repo.keys.id, data);
    await store.saveBlob(kind, id, data);
    blobs.add(id);
    return id;
  };

  interface Dir { dirs: Map<string, Dir>; files: Map<string, Buffer> }
  const root: Dir = { dirs: new Map(), files: new Map() };
  for (const [path, content] of Object.entries(files)) {
    const parts = path.split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let sub = dir.dirs.get(part);
      if (sub === undefined) dir.dirs.set(part, (sub = { dirs: new Map(), files: new Map() }));
      dir = sub;
    }
    dir.files.set(parts[parts.length - 1]!, content);
  }
  const storeDir = async (dir: Dir): Promise<string> => {
    const entries: TreeEntry[] = [];
    for (const [name, sub] of dir.dirs) entries.push({ name, kind: 'dir', mode: 0o755, subtree: await storeDir(sub) });
    for (const [name, content] of dir.files) {
      const ids: string[] = [];
      for (let at = 0; at < content.length; at += chunkSize) ids.push(await put('data', content.subarray(at, at + chunkSize)));
      entries.push({ name, kind: 'file', mode: 0o644, size: content.length, content: ids });
    }
    return put('tree', encodeTree(entries));
  };
  const tree = await storeDir(root);
  await store.flush();
  const snapshot: Snapshot = {
    v: 1,
    time: new Date().toISOString(),
    host: 'test-host',
    username: 'tester',
    dataset: options.dataset ?? 'files',
    translator: { id: 'test', version: '1.0.0' },
    source: '/test',
    tags: [],
    tree,
    summary: {
      files: Object.keys(files).length, dirs: 0, others: 0, filesRead: 0, filesReused: 0, bytesTotal: 0, bytesRead: 0,
      blobsOffered: 0, blobsShipped: 0, bytesShipped: 0, bytesAdded: 0, blobsAdded: 0, durationMs: 0, warnings: [], warningsDropped: 0,
    },
  };
  const id = await saveSnapshot(repo, snapshot);
  return { id, tree, blobs };
}

/** Reads a snapshot back through a fresh BlobStore: path → content. */
export async function restoreFiles(repo: Repository, snapshotId: string): Promise<Record<string, Buffer>> {
  const store = await BlobStore.open(repo);
  const out: Record<string, Buffer> = {};
  const walk = async (treeId: string, prefix: string): Promise<void> => {
    for (const entry of decodeTree(await store.loadBlob(treeId)).entries) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.kind === 'dir') await walk(entry.subtree!, path);
      else out[path] = Buffer.concat(await Promise.all((entry.content ?? []).map((id) => store.loadBlob(id))));
    }
  };
  await walk((await loadSnapshot(repo, snapshotId)).tree, '');
  return out;
}

/** All files of a type with their sizes, sorted: a fingerprint of the repository's state. */
export async function listing(backend: Backend, type: Handle['type']): Promise<string[]> {
  const names: string[] = [];
  for await (const f of backend.list(type)) names.push(`${f.name}:${f.size}`);
  return names.sort();
}

/** Total bytes of the pack files. */
export async function packBytes(backend: Backend): Promise<number> {
  let n = 0;
  for await (const f of backend.list('data')) n += f.size;
  return n;
}

/** Flips one byte of a stored file (through the backend, so it works for every backend). */
export async function flipByte(backend: Backend, handle: Handle, position: number): Promise<void> {
  const data = await backend.load(handle);
  const at = position < 0 ? data.length + position : position;
  data[at] = data[at]! ^ 0x5a;
  await backend.save(handle, data);
}

/**
 * A backend whose mutating calls (save, remove) fail from the `failAt`-th
 * one on (1-based), as if the process died there: nothing after it happens.
 */
export class CrashingBackend implements Backend {
  mutations = 0;
  constructor(readonly inner: Backend, public failAt: number) {}
  get location(): string {
    return this.inner.location;
  }
  #mutate(): void {
    if (++this.mutations >= this.failAt) throw new Error(`simulated crash at mutation ${this.mutations}`);
  }
  async save(handle: Handle, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.#mutate();
    return this.inner.save(handle, data);
  }
  async remove(handle: Handle): Promise<void> {
    this.#mutate();
    return this.inner.remove(handle);
  }
  load(handle: Handle, offset?: number, length?: number): Promise<Buffer> {
    return this.inner.load(handle, offset, length);
  }
  stat(handle: Handle): ReturnType<Backend['stat']> {
    return this.inner.stat(handle);
  }
  list(type: Handle['type']): ReturnType<Backend['list']> {
    return this.inner.list(type);
  }
  create(): Promise<void> {
    return this.inner.create();
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  isEmpty(): Promise<boolean> {
    return this.inner.isEmpty();
  }
}

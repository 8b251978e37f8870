import type { BlobId, TreeEntry } from '../entry/entry';
import { EbmError, throwIfCancelled } from '../errors/ebm-error';
import type { ReadContentOptions, RestoreItem } from '../translator/context';
import type { PortChannel } from './port-channel';
import { readEntryContent } from './content-reader';
import type { TreeLoader } from './tree-loader';

/** Directory trees requested ahead while walking. */
const PREFETCH_TREES = 4;

interface Frame {
  readonly prefix: string;
  readonly entries: readonly TreeEntry[];
  index: number;
}

/**
 * The restore side of a task: walks the snapshot's trees depth-first,
 * pre-order, filtered by the operator's includes, and streams content blobs
 * with a small read-ahead. Counts what it hands out for the task result.
 */
export class RestoreSession {
  files = 0;
  dirs = 0;
  bytes = 0;
  readonly #channel: PortChannel;
  readonly #trees: TreeLoader;
  readonly #rootTree: BlobId;
  readonly #snapshotId: string;
  readonly #includes: readonly string[];
  readonly #signal: AbortSignal;

  constructor(channel: PortChannel, trees: TreeLoader, rootTree: BlobId, snapshotId: string, includes: readonly string[]) {
    this.#channel = channel;
    this.#trees = trees;
    this.#rootTree = rootTree;
    this.#snapshotId = snapshotId;
    this.#includes = normalizeIncludes(includes);
    this.#signal = channel.signal;
  }

  /** Depth-first pre-order; an include 'a/b' yields 'a', 'a/b' and everything below 'a/b'. Counts what it yields. */
  entries(): AsyncGenerator<RestoreItem> {
    return this.#walk(false);
  }

  /** The directories entries() yields, in its order; counts nothing (RestoreContext.directories). */
  directories(): AsyncGenerator<RestoreItem> {
    return this.#walk(true);
  }

  async *#walk(directoriesOnly: boolean): AsyncGenerator<RestoreItem> {
    await this.#checkIncludesExist();
    const root = await this.#trees.load(this.#rootTree);
    const stack: Frame[] = [{ prefix: '', entries: root.entries, index: 0 }];
    while (stack.length > 0) {
      throwIfCancelled(this.#signal, 'restore');
      const frame = stack[stack.length - 1]!;
      if (frame.index >= frame.entries.length) {
        stack.pop();
        continue;
      }
      const entry = frame.entries[frame.index++]!;
      if (directoriesOnly && entry.kind !== 'dir') continue;
      const path = frame.prefix === '' ? entry.name : `${frame.prefix}/${entry.name}`;
      if (!this.#wanted(path)) continue;
      if (!directoriesOnly) this.#count(entry);
      yield { path, entry };
      if (entry.kind === 'dir') {
        if (typeof entry.subtree !== 'string') {
          throw new EbmError('E_CORRUPT_OBJECT', `directory ${JSON.stringify(path)} of snapshot ${this.#snapshotId} has no subtree`, { subject: path });
        }
        this.#prefetch(frame);
        const tree = await this.#trees.load(entry.subtree);
        stack.push({ prefix: path, entries: tree.entries, index: 0 });
      }
    }
  }

  #count(entry: TreeEntry): void {
    if (entry.kind === 'dir') this.dirs++;
    else if (entry.kind === 'file') this.files++;
  }

  /** The entry's content blobs in order, verified by the host; checks the total against the entry's size. */
  readContent(entry: TreeEntry, options: ReadContentOptions = {}): AsyncGenerator<Uint8Array> {
    // Only files must match their size: other kinds (streams, block images) record their own lengths.
    return readEntryContent(this.#channel, entry, { what: 'entry', op: 'restore', signal: this.#signal, checkSize: entry.kind === 'file', borrow: options.borrow === true, onBytes: (n) => (this.bytes += n) });
  }

  #wanted(path: string): boolean {
    if (this.#includes.length === 0) return true;
    return this.#includes.some((inc) => path === inc || path.startsWith(`${inc}/`) || inc.startsWith(`${path}/`));
  }

  /** Starts loading the subtrees of the next few directories of `frame`. */
  #prefetch(frame: Frame): void {
    let started = 0;
    for (let i = frame.index; i < frame.entries.length && i < frame.index + 64 && started < PREFETCH_TREES; i++) {
      const e = frame.entries[i]!;
      if (e.kind !== 'dir' || typeof e.subtree !== 'string') continue;
      const path = frame.prefix === '' ? e.name : `${frame.prefix}/${e.name}`;
      if (!this.#wanted(path)) continue;
      this.#trees.load(e.subtree).catch(() => undefined);
      started++;
    }
  }

  /** Fails before anything is restored when an include names nothing in the snapshot. */
  async #checkIncludesExist(): Promise<void> {
    const missing: string[] = [];
    for (const include of this.#includes) {
      let treeId: BlobId | undefined = this.#rootTree;
      const parts = include.split('/');
      for (let i = 0; i < parts.length && treeId !== undefined; i++) {
        const entry: TreeEntry | undefined = (await this.#trees.load(treeId)).get(parts[i]!);
        if (entry === undefined) treeId = undefined;
        else if (i < parts.length - 1) treeId = entry.kind === 'dir' && typeof entry.subtree === 'string' ? entry.subtree : undefined;
      }
      if (treeId === undefined) missing.push(include);
    }
    if (missing.length > 0) {
      throw new EbmError(
        'E_PATH_NOT_IN_SNAPSHOT',
        `${missing.length === 1 ? 'path' : 'paths'} ${missing.map((m) => JSON.stringify(m)).join(', ')} not found in snapshot ${this.#snapshotId}`,
        { subject: missing[0], op: 'restore' },
      );
    }
  }
}

/** 'a/b/', '/a/b' and './a/b' all mean 'a/b'; '' and '/' mean everything. */
function normalizeIncludes(includes: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of includes) {
    const parts = String(raw).split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new EbmError('E_USAGE', `include path ${JSON.stringify(raw)} must not contain '..'`, { subject: String(raw) });
    if (parts.length === 0) return [];
    out.push(parts.join('/'));
  }
  return out;
}

import { BLOB_ID_PATTERN, computeBlobId } from '../chunker/blob-id';
import { BlobId, DirTally, ENTRY_KINDS, EntryMetadata, TreeEntry } from '../entry/entry';
import { encodeTree } from '../entry/tree-codec';
import { EbmError } from '../errors/ebm-error';
import { splitSafePath } from '../paths/safe-path';
import type { ContentSource, StoredContent, TreeWriter } from '../translator/context';
import type { MutableBackupStats } from './backup-stats';
import type { BlobShipper } from './blob-shipper';
import type { ContentWriter } from './content-writer';

/** A directory that may still receive entries. */
interface OpenDir {
  /** Snapshot-relative path; '' for the root. */
  readonly path: string;
  readonly entries: TreeEntry[];
  readonly names: Set<string>;
  /** Index of this directory's own entry in its parent's `entries` (-1 for the root). */
  readonly indexInParent: number;
  /** Totals of everything added below this directory so far (becomes its entry's `tally`). */
  readonly tally: MutableTally;
}

type MutableTally = { -readonly [K in keyof DirTally]: DirTally[K] };
/** Keys in sorted order, like every object the writer builds: the tree codec then serialises entries natively (canonicalJson). */
const emptyTally = (): MutableTally => ({ bytes: 0, dirs: 0, files: 0, others: 0 });

const DEPTH_FIRST_RULE =
  'entries must be added depth-first: a directory before anything below it, and everything below a directory before any entry outside it';

/**
 * Builds the snapshot's trees from `add` calls in depth-first pre-order,
 * keeping only the open directories (the current path) in memory. A directory
 * is complete as soon as an entry outside it is added: its tree is encoded,
 * hashed, offered to the host as a 'tree' blob, and its id becomes the
 * `subtree` of its entry in the parent.
 */
export class SnapshotTreeWriter implements TreeWriter {
  readonly #idKey: Uint8Array;
  readonly #shipper: BlobShipper;
  readonly #content: ContentWriter;
  readonly #stats: MutableBackupStats;
  readonly #open: OpenDir[] = [{ path: '', entries: [], names: new Set(), indexInParent: -1, tally: emptyTally() }];
  #root: EntryMetadata | undefined;
  #busy = false;
  readonly #notBusy = (): void => {
    this.#busy = false;
  };
  #finished = false;

  constructor(idKey: Uint8Array, shipper: BlobShipper, content: ContentWriter, stats: MutableBackupStats) {
    this.#idKey = idKey;
    this.#shipper = shipper;
    this.#content = content;
    this.#stats = stats;
  }

  get rootMeta(): EntryMetadata | undefined {
    return this.#root;
  }

  writeContent(source: ContentSource): Promise<StoredContent> {
    return this.#content.write(source);
  }

  setRoot(meta: EntryMetadata): void {
    if (typeof meta !== 'object' || meta === null) throw new TypeError('setRoot(meta): meta must be an object');
    this.#root = { ...meta };
  }

  add(path: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): Promise<void> {
    try {
      if (this.#finished) throw new EbmError('E_PROTOCOL', `add(${JSON.stringify(path)}) was called after the backup finished`, { subject: path });
      if (this.#busy) {
        throw new EbmError('E_PROTOCOL', `add(${JSON.stringify(path)}) was called while another add was still running: await each add`, { subject: path });
      }
      const { depth, name } = this.#locate(path);
      if (depth === this.#open.length - 1) {
        // The common case (the next entry of the current directory): nothing to complete, no async work.
        // Still busy until the caller's await resumes, so an add that is not awaited is refused as before.
        this.#addTo(this.#open[depth]!, path, name, entry);
        this.#busy = true;
        return RESOLVED.then(this.#notBusy);
      }
      return this.#addAfterClosing(depth, path, name, entry);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async reuseSubtree(path: string, entry: TreeEntry): Promise<boolean> {
    if (this.#finished) throw new EbmError('E_PROTOCOL', `reuseSubtree(${JSON.stringify(path)}) was called after the backup finished`, { subject: path });
    if (this.#busy) throw new EbmError('E_PROTOCOL', `reuseSubtree(${JSON.stringify(path)}) was called while another add was still running: await each add`, { subject: path });
    if (entry?.kind !== 'dir') throw new EbmError('E_PROTOCOL', `reuseSubtree(${JSON.stringify(path)}): the entry is a ${String(entry?.kind)}, not a directory`, { subject: path });
    if (typeof entry.subtree !== 'string' || !BLOB_ID_PATTERN.test(entry.subtree) || !isTally(entry.tally)) return false;
    this.#busy = true;
    try {
      const { parent, name } = await this.#parentFor(path);
      const { tally, subtree, ...rest } = entry;
      const stored: TreeEntry = sortedKeys({ ...checkedEntry(path, name, rest, this.#content), subtree, tally: sortedKeys({ ...tally }) });
      parent.names.add(name);
      parent.entries.push(stored);
      this.#count(stored);
      addTally(parent.tally, tally);
      const stats = this.#stats;
      stats.files += tally.files;
      stats.dirs += tally.dirs;
      stats.others += tally.others;
      stats.bytesTotal += tally.bytes;
      stats.filesReused += tally.files;
      return true;
    } finally {
      this.#busy = false;
    }
  }

  /** Completes every open directory; returns the root tree's id (an empty backup gives an empty root tree). */
  async finish(): Promise<BlobId> {
    if (this.#busy) throw new EbmError('E_PROTOCOL', 'the backup returned while an add was still running: await each add');
    this.#finished = true;
    await this.#closeDownTo(0);
    return this.#closeDir(this.#open.pop()!);
  }

  async #addAfterClosing(depth: number, path: string, name: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): Promise<void> {
    this.#busy = true;
    try {
      await this.#closeDownTo(depth);
      this.#addTo(this.#open[depth]!, path, name, entry);
    } finally {
      this.#busy = false;
    }
  }

  #addTo(parent: OpenDir, path: string, name: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): void {
    if (parent.names.has(name)) throw new EbmError('E_PROTOCOL', `cannot add ${JSON.stringify(path)}: it was already added`, { subject: path });
    const stored = checkedEntry(path, name, entry, this.#content);
    parent.names.add(name);
    parent.entries.push(stored);
    this.#count(stored);
    if (stored.kind === 'dir') this.#open.push({ path, entries: [], names: new Set(), indexInParent: parent.entries.length - 1, tally: emptyTally() });
  }

  /** The open directory `path` goes into (after completing the deeper ones), checking the depth-first rule and duplicates. */
  async #parentFor(path: string): Promise<{ parent: OpenDir; name: string }> {
    const { depth, name } = this.#locate(path);
    await this.#closeDownTo(depth);
    const parent = this.#open[depth]!;
    if (parent.names.has(name)) throw new EbmError('E_PROTOCOL', `cannot add ${JSON.stringify(path)}: it was already added`, { subject: path });
    return { parent, name };
  }

  /**
   * The depth of the open directory that `path` goes into, and the entry's
   * name, checking the path (as splitSafePath does) and the depth-first rule.
   * The parent is found by its exact path among the open directories, whose
   * paths were checked when they were added, so only the last component needs
   * a check of its own; the innermost directory, the usual answer, is tried first.
   */
  #locate(path: string): { depth: number; name: string } {
    if (typeof path !== 'string' || path === '' || path.startsWith('/')) splitSafePath(path); // throws E_UNSAFE_PATH naming the problem
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    const parentPath = slash < 0 ? '' : path.slice(0, slash);
    if (name === '' || name === '.' || name === '..' || name.includes('\0')) splitSafePath(path);
    let depth = this.#open.length - 1;
    while (depth >= 0 && this.#open[depth]!.path !== parentPath) depth--;
    if (depth < 0) {
      splitSafePath(path); // an unsafe component anywhere is E_UNSAFE_PATH, as before
      throw new EbmError(
        'E_PROTOCOL',
        `cannot add ${JSON.stringify(path)}: its directory ${JSON.stringify(parentPath)} is not open — it was never added as a directory, or it was already completed because an entry outside it was added (${DEPTH_FIRST_RULE})`,
        { subject: path },
      );
    }
    return { depth, name };
  }

  /** Completes the open directories deeper than `depth`, innermost first. */
  async #closeDownTo(depth: number): Promise<void> {
    while (this.#open.length - 1 > depth) {
      const dir = this.#open.pop()!;
      const id = await this.#closeDir(dir);
      const parent = this.#open[this.#open.length - 1]!;
      parent.entries[dir.indexInParent] = sortedKeys({ ...parent.entries[dir.indexInParent]!, subtree: id, tally: { ...dir.tally } });
      addTally(parent.tally, dir.tally);
    }
  }

  async #closeDir(dir: OpenDir): Promise<BlobId> {
    const bytes = encodeTree(dir.entries);
    const id = computeBlobId(this.#idKey, bytes);
    await this.#shipper.offer(id, 'tree', bytes);
    return id;
  }

  /** Counts one entry in the summary and in the tally of the directory it was added to (the innermost open one). */
  #count(entry: TreeEntry): void {
    const tally = this.#open[this.#open.length - 1]!.tally;
    if (entry.kind === 'dir') tally.dirs++;
    else if (entry.kind === 'file') (tally.files++, (tally.bytes += entry.size ?? 0));
    else tally.others++;
    const stats = this.#stats;
    if (entry.kind === 'dir') {
      stats.dirs++;
    } else if (entry.kind === 'file') {
      stats.files++;
      stats.bytesTotal += entry.size ?? 0;
      if (entry.content !== undefined) {
        if (this.#content.produced(entry.content)) stats.filesRead++;
        else stats.filesReused++;
      }
    } else {
      stats.others++;
    }
  }
}

function addTally(into: MutableTally, more: DirTally): void {
  into.files += more.files;
  into.dirs += more.dirs;
  into.others += more.others;
  into.bytes += more.bytes;
}

function isTally(t: unknown): t is DirTally {
  if (typeof t !== 'object' || t === null) return false;
  const r = t as Record<string, unknown>;
  return ['files', 'dirs', 'others', 'bytes'].every((k) => Number.isSafeInteger(r[k]) && (r[k] as number) >= 0);
}

const RESOLVED = Promise.resolve();

/**
 * A shallow copy of the entry with its name, after checking what the format
 * depends on. Content arrays that `content` produced (writeContent) hold ids
 * it computed, so only other content (reused, or made up by the translator)
 * has its ids checked one by one.
 */
function checkedEntry(path: string, name: string, entry: Omit<TreeEntry, 'name' | 'subtree'>, content: ContentWriter): TreeEntry {
  const bad = (problem: string): never => {
    throw new EbmError('E_PROTOCOL', `cannot add ${JSON.stringify(path)}: ${problem}`, { subject: path });
  };
  if (typeof entry !== 'object' || entry === null) bad('the entry must be an object');
  if (!ENTRY_KINDS.includes(entry.kind)) bad(`unknown kind ${JSON.stringify(entry.kind)} (known: ${ENTRY_KINDS.join(', ')})`);
  if (entry.size !== undefined && (!Number.isSafeInteger(entry.size) || entry.size < 0)) bad(`size ${entry.size} is not a non-negative integer`);
  if (entry.content !== undefined) {
    if (!Array.isArray(entry.content)) bad('content must be an array of blob ids (from writeContent or the previous snapshot)');
    if (!content.produced(entry.content)) {
      for (const id of entry.content) if (typeof id !== 'string' || !BLOB_ID_PATTERN.test(id)) bad(`content holds an invalid blob id ${JSON.stringify(id)}`);
    }
  }
  // A copy with its keys in sorted order (see sortedKeys), without subtree and tally (the writer sets those).
  const source = entry as Record<string, unknown>;
  const stored: Record<string, unknown> = {};
  for (const key of sortedEntryKeys(Object.keys(source))) {
    if (key === 'name') stored.name = name;
    else if (key !== 'subtree' && key !== 'tally') stored[key] = source[key];
  }
  return stored as unknown as TreeEntry;
}

/** The keys of the last entry and their sorted order (with 'name'): a translator's entries mostly share one set of keys. */
let lastKeys: readonly string[] = [];
let lastSorted: readonly string[] = ['name'];

function sortedEntryKeys(keys: readonly string[]): readonly string[] {
  if (keys.length === lastKeys.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = keys[i] === lastKeys[i];
    if (same) return lastSorted;
  }
  const sorted = keys.includes('name') ? [...keys] : [...keys, 'name'];
  sorted.sort();
  lastKeys = keys;
  lastSorted = sorted;
  return sorted;
}

/** A copy of `value` with its keys in sorted order. */
function sortedKeys<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = (value as Record<string, unknown>)[key];
  return out as T;
}

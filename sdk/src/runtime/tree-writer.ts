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
const emptyTally = (): MutableTally => ({ files: 0, dirs: 0, others: 0, bytes: 0 });

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

  async add(path: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): Promise<void> {
    if (this.#finished) throw new EbmError('E_PROTOCOL', `add(${JSON.stringify(path)}) was called after the backup finished`, { subject: path });
    if (this.#busy) {
      throw new EbmError('E_PROTOCOL', `add(${JSON.stringify(path)}) was called while another add was still running: await each add`, { subject: path });
    }
    this.#busy = true;
    try {
      await this.#add(path, entry);
    } finally {
      this.#busy = false;
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
      const stored: TreeEntry = { ...checkedEntry(path, name, rest), subtree, tally: { ...tally } };
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

  async #add(path: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): Promise<void> {
    const { parent, name } = await this.#parentFor(path);
    const stored = checkedEntry(path, name, entry);
    parent.names.add(name);
    parent.entries.push(stored);
    this.#count(stored);
    if (stored.kind === 'dir') this.#open.push({ path, entries: [], names: new Set(), indexInParent: parent.entries.length - 1, tally: emptyTally() });
  }

  /** The open directory `path` goes into (after completing the deeper ones), checking the depth-first rule and duplicates. */
  async #parentFor(path: string): Promise<{ parent: OpenDir; name: string }> {
    const parts = splitSafePath(path);
    const name = parts[parts.length - 1]!;
    const parentPath = parts.slice(0, -1).join('/');
    const depth = this.#open.findIndex((dir) => dir.path === parentPath);
    if (depth < 0) {
      throw new EbmError(
        'E_PROTOCOL',
        `cannot add ${JSON.stringify(path)}: its directory ${JSON.stringify(parentPath)} is not open — it was never added as a directory, or it was already completed because an entry outside it was added (${DEPTH_FIRST_RULE})`,
        { subject: path },
      );
    }
    await this.#closeDownTo(depth);
    const parent = this.#open[depth]!;
    if (parent.names.has(name)) throw new EbmError('E_PROTOCOL', `cannot add ${JSON.stringify(path)}: it was already added`, { subject: path });
    return { parent, name };
  }

  /** Completes the open directories deeper than `depth`, innermost first. */
  async #closeDownTo(depth: number): Promise<void> {
    while (this.#open.length - 1 > depth) {
      const dir = this.#open.pop()!;
      const id = await this.#closeDir(dir);
      const parent = this.#open[this.#open.length - 1]!;
      parent.entries[dir.indexInParent] = { ...parent.entries[dir.indexInParent]!, subtree: id, tally: { ...dir.tally } };
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

/** A shallow copy of the entry with its name, after checking what the format depends on. */
function checkedEntry(path: string, name: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): TreeEntry {
  const bad = (problem: string): never => {
    throw new EbmError('E_PROTOCOL', `cannot add ${JSON.stringify(path)}: ${problem}`, { subject: path });
  };
  if (typeof entry !== 'object' || entry === null) bad('the entry must be an object');
  if (!ENTRY_KINDS.includes(entry.kind)) bad(`unknown kind ${JSON.stringify(entry.kind)} (known: ${ENTRY_KINDS.join(', ')})`);
  if (entry.size !== undefined && (!Number.isSafeInteger(entry.size) || entry.size < 0)) bad(`size ${entry.size} is not a non-negative integer`);
  if (entry.content !== undefined) {
    if (!Array.isArray(entry.content)) bad('content must be an array of blob ids (from writeContent or the previous snapshot)');
    for (const id of entry.content) if (typeof id !== 'string' || !BLOB_ID_PATTERN.test(id)) bad(`content holds an invalid blob id ${JSON.stringify(id)}`);
  }
  const { subtree: _ignored, tally: _computed, ...rest } = entry as TreeEntry;
  return { ...rest, name };
}

import { promises as fsp } from 'node:fs';
import type { Totals } from './progress-totals';
import type { BigIntStats } from 'node:fs';
import { BackupContext, EntryMetadata, StoredContent, TreeEntry, Xattr } from '@ebm/sdk';
import { errnoCode, isNotFound, isPermissionDenied } from '../fs-errors';
import { BackupOptions } from '../options';
import { kindOf, metadataOf } from './entry-metadata';
import { NewEntry, OrderedAdder } from './ordered-adder';
import { OwnerNames } from './owner-names';
import { readFileContent } from './read-file';
import { readXattrs } from './read-xattrs';
import { reusableContent } from './reuse';
import { WalkedEntry, problem } from './walk';
import { BlockModeJob } from '../block/block-job';

/** The snapshot metadata key that says whether the backup read xattrs (so an incremental may keep its parent's). */
export const XATTRS_META = 'xattrs';

/** Files read at once: hides open/read/fstat/close latency of small files. */
const MAX_READS_IN_FLIGHT = 8;
/** Entries waiting behind a slow read before the walk pauses. */
const MAX_QUEUED_ENTRIES = 512;

interface LinkGroup {
  /** Snapshot path of the first entry of the inode seen in this backup. */
  readonly path: string;
  /** Its stored content, or undefined if it could not be read. */
  readonly content: Promise<StoredContent | undefined>;
}

/**
 * The state of one backup job (nothing here outlives the job): turns walked
 * entries into tree entries, decides read-or-reuse per file, detects
 * hardlinks, and counts progress.
 */
export class BackupJob {
  readonly #names = new OwnerNames();
  readonly #links = new Map<string, LinkGroup>();
  readonly #adder: OrderedAdder;
  /** Block mode (src/block), when the options turn it on. */
  readonly blocks: BlockModeJob | undefined;
  #files = 0;
  #bytes = 0;
  #totals: Totals | undefined;
  /** Whether the parent snapshot read xattrs (it recorded `xattrs: true`), so its entries' xattrs can be kept. */
  readonly #parentReadXattrs: boolean;

  constructor(
    private readonly ctx: BackupContext,
    private readonly options: BackupOptions,
  ) {
    this.blocks = BlockModeJob.fromOptions(ctx, ctx.options);
    this.#parentReadXattrs = ctx.previous?.meta?.[XATTRS_META] === true;
    this.#adder = new OrderedAdder(ctx.tree, MAX_READS_IN_FLIGHT, MAX_QUEUED_ENTRIES, (path, entry) => {
      if (entry.kind !== 'dir') this.#files++;
      this.#bytes += entry.size ?? 0;
      if (entry.tally !== undefined) {
        // A reused subtree: everything below it counts as done.
        this.#files += entry.tally.files + entry.tally.others;
        this.#bytes += entry.tally.bytes;
      }
      ctx.progress.update({ files: this.#files, bytes: this.#bytes, currentPath: path, ...this.#totals });
    });
  }

  /** Totals from the counting walk; later progress updates carry them (for an ETA). */
  setTotals(totals: Totals): void {
    this.#totals = totals;
  }

  /**
   * Metadata of an entry (lstat fields, owner names, xattrs when enabled).
   * With the parent's entry for the same path: when its inode and ctime are
   * unchanged, so are its xattrs (setting or removing one moves the ctime),
   * and the parent's are kept without a listxattr — if the parent read
   * xattrs at all (its snapshot's `xattrs`, see XATTRS_META).
   */
  metadata(relPath: string, absPath: string, stats: BigIntStats, previous?: TreeEntry): EntryMetadata {
    if (!this.options.xattrs) return metadataOf(stats, this.#names, undefined);
    const unchanged = previous !== undefined && this.#parentReadXattrs && previous.inode === stats.ino.toString() && previous.ctimeNs === stats.ctimeNs.toString();
    return metadataOf(stats, this.#names, unchanged ? previous.xattrs : this.#xattrs(relPath, absPath));
  }

  /** Turns one walked entry into a tree entry (queued in walk order). */
  async visit(item: WalkedEntry): Promise<void> {
    const kind = kindOf(item.stats);
    const previous = this.ctx.previous !== undefined ? await this.ctx.previous.lookup(item.relPath) : undefined;
    const meta = this.metadata(item.relPath, item.absPath, item.stats, previous);
    switch (kind) {
      case 'file':
        return this.#visitFile(item, meta, previous);
      case 'symlink': {
        let target: string;
        try {
          target = await fsp.readlink(item.absPath);
        } catch (err) {
          this.ctx.warn(problem(item.relPath, err, 'symlink could not be read; skipped'));
          return;
        }
        return this.#adder.push(item.relPath, { ...meta, kind, target });
      }
      case 'chardev':
      case 'blockdev':
        return this.#adder.push(item.relPath, { ...meta, kind, rdev: Number(item.stats.rdev) });
      default:
        return this.#adder.push(item.relPath, { ...meta, kind });
    }
  }

  /**
   * Keeps a parent entry as it is, without looking at the source (a trusted
   * change journal says nothing changed there). A directory's subtree is
   * rebuilt from the entries added below it, as for any directory.
   */
  reuse(relPath: string, entry: TreeEntry): Promise<void> {
    const { name: _name, subtree: _subtree, tally: _tally, ...kept } = entry;
    return this.#adder.push(relPath, kept);
  }

  /** Keeps a parent directory with its whole subtree (see TreeWriter.reuseSubtree; the journal walk checked it can). */
  reuseSubtree(relPath: string, entry: TreeEntry): Promise<void> {
    return this.#adder.pushSubtree(relPath, entry);
  }

  /** Adds everything still queued; call once after the last visit. */
  finish(): Promise<void> {
    return this.#adder.drain();
  }

  async #visitFile(item: WalkedEntry, meta: EntryMetadata, previous: TreeEntry | undefined): Promise<void> {
    const { stats } = item;
    const links = stats.nlink > 1n ? Number(stats.nlink) : undefined;
    const linkKey = links !== undefined ? `${stats.dev}:${stats.ino}` : undefined;
    const group = linkKey !== undefined ? this.#links.get(linkKey) : undefined;
    if (group !== undefined) {
      // A second path of an inode: a hardlink that also carries the content, so it can be restored alone.
      const entry = group.content.then((c) =>
        c !== undefined
          ? ({ ...meta, kind: 'hardlink', linkTo: group.path, size: c.size, content: c.content, links } as NewEntry)
          : this.#readEntry(item, meta, links),
      );
      return this.#adder.pushPending(item.relPath, entry);
    }

    if (this.blocks?.selects(item) === true) {
      const blocks = this.blocks;
      return this.#adder.pushPending(item.relPath, this.#guarded(item, () => blocks.entry(item, meta)));
    }
    const reused = reusableContent(previous, stats) ?? (stats.size === 0n ? EMPTY_CONTENT : undefined);
    if (reused !== undefined) {
      if (linkKey !== undefined) this.#links.set(linkKey, { path: item.relPath, content: Promise.resolve(reused) });
      return this.#adder.push(item.relPath, { ...meta, kind: 'file', size: reused.size, content: reused.content, links });
    }
    const entry = this.#readEntry(item, meta, links);
    if (linkKey !== undefined) {
      const content = entry.then(
        (e) => (e !== undefined ? { size: e.size!, content: e.content! } : undefined),
        () => undefined,
      );
      this.#links.set(linkKey, { path: item.relPath, content });
    }
    return this.#adder.pushPending(item.relPath, entry);
  }

  /**
   * Reads a file; per-file problems become warnings and leave the file out.
   * A plain promise chain rather than nested async functions: this runs once
   * per file, and each async layer cost allocations (garbage collection was a
   * third of the worker's time on a tree of small files).
   */
  #readEntry(item: WalkedEntry, meta: EntryMetadata, links: number | undefined): Promise<NewEntry | undefined> {
    return readFileContent(item.absPath, item.stats, this.ctx.tree, this.ctx.signal).then(
      ({ stored, changed }): NewEntry => {
        if (changed) {
          this.ctx.warn({
            path: item.relPath,
            code: 'E_SOURCE_CHANGED',
            message: `${item.relPath}: changed while it was read; stored the ${stored.size} bytes read (it is read again next time)`,
          });
        }
        // Metadata stays the walk's lstat: if the content is torn, the next incremental sees a difference and re-reads.
        return { ...meta, kind: 'file', size: stored.size, content: stored.content, links };
      },
      (err: unknown) => this.#skipOrThrow(item, err),
    );
  }

  /** Runs a read of one file; per-file problems become warnings and leave the file out. */
  async #guarded(item: WalkedEntry, read: () => Promise<NewEntry>): Promise<NewEntry | undefined> {
    try {
      return await read();
    } catch (err) {
      return this.#skipOrThrow(item, err);
    }
  }

  /** A per-file problem (vanished, unreadable, replaced) becomes a warning and leaves the file out (undefined); anything else is rethrown. */
  #skipOrThrow(item: WalkedEntry, err: unknown): undefined {
    if (isNotFound(err)) {
      this.ctx.warn(problem(item.relPath, err, 'vanished before it could be read; skipped'));
    } else if (isPermissionDenied(err)) {
      this.ctx.warn(problem(item.relPath, err, 'could not be opened; skipped'));
    } else if (errnoCode(err) === 'ELOOP' || errnoCode(err) === 'ENXIO') {
      this.ctx.warn({ path: item.relPath, code: 'E_SOURCE_CHANGED', message: `${item.relPath}: was replaced by a non-file while being backed up; skipped` });
    } else {
      throw err;
    }
    return undefined;
  }

  #xattrs(relPath: string, absPath: string): readonly Xattr[] | undefined {
    const result = readXattrs(absPath);
    if (result.ok) return result.xattrs;
    if (!result.unsupported && result.errno !== 'ENOENT') {
      this.ctx.warn({
        path: relPath || '.',
        code: 'E_PERMISSION',
        message: `${relPath || 'source root'}: extended attributes could not be read (${result.errno ?? 'unknown error'}); stored without them`,
      });
    }
    return undefined;
  }
}

const EMPTY_CONTENT: StoredContent = Object.freeze({ size: 0, content: Object.freeze([]) as readonly string[] });

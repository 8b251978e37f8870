import { closeSync, constants, linkSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { EbmError, isEbmError, RestoreContext, RestoreOutcome, TreeEntry, throwIfCancelled } from '@ebm/sdk';
import { errnoCode, messageOf } from '../fs-errors';
import { MetadataWriter } from './metadata-writer';
import { SafeTarget } from './safe-target';
import { makeDeviceNode, makeFifo } from './special-files';
import { TaskPool } from './task-pool';
import { createAndWrite } from './write-file';
import { restoreImage } from '../block/restore-image';

/**
 * Entries written at once: a tree of small files restores faster with many in
 * flight (each waits a round trip to the host for its content; 32 measured
 * ~10 % faster than 8 on 20k files). What they may hold is bounded too: each
 * file weighs its size up to FILE_WEIGHT_CAP (a large file holds at most a
 * few blobs read ahead), and the weights in flight stay within the budget,
 * so a tree of large files restores a few at a time.
 */
const RESTORE_CONCURRENCY = 32;
const RESTORE_BYTES_IN_FLIGHT = 32 * 1024 * 1024;
const FILE_WEIGHT_CAP = 8 * 1024 * 1024;

interface RestoredDir {
  readonly abs: string;
  readonly relPath: string;
  readonly entry: TreeEntry;
}

/**
 * Restores `ctx.entries()` under `ctx.target`. The directory skeleton comes
 * first (`ctx.directories()`, in walk order, parents before children), then
 * everything else, written by a small pool of tasks; directories get their
 * mode, owner and times at the end, deepest first, so restrictive modes and
 * mtimes are not disturbed by writing their children. The target
 * directory's own metadata is left alone.
 *
 * Why the skeleton first: ext4 places a file's inode near its directory's,
 * and without a journal it skips (scanning past each, on every create)
 * the inodes freed in the last minute. Right after a large deletion a
 * restore of the bench's 20k files took 12–16 s with each directory made as
 * the walk reached it and 5.4–10 s with the 410 directories made first, as
 * restic makes them (restic 5.8–9.0 s, the same rounds). Creating 20k files
 * in 400 directories alone: 12–14.5 s against 5.9–7.5 s. Away from that
 * state the order measured about neutral (bench/README.md).
 */
export async function restoreFilesystem(ctx: RestoreContext): Promise<RestoreOutcome> {
  const target = await SafeTarget.open(ctx.target, ctx.overwrite);
  const job = new RestoreJob(ctx, target);
  const pool = new TaskPool(RESTORE_CONCURRENCY, RESTORE_BYTES_IN_FLIGHT);
  const dirs: RestoredDir[] = [];
  const makeDir = (relPath: string, entry: TreeEntry): void => {
    dirs.push({ abs: target.ensureDir(relPath), relPath, entry });
    job.counted(relPath, 0);
  };

  try {
    const skeleton = ctx.directories?.(); // absent on a host that predates it: then each directory is made as the walk reaches it
    if (skeleton !== undefined) {
      for await (const { path: relPath, entry } of skeleton) {
        throwIfCancelled(ctx.signal, 'restore');
        makeDir(relPath, entry);
      }
    }
    for await (const { path: relPath, entry } of ctx.entries()) {
      throwIfCancelled(ctx.signal, 'restore');
      if (entry.kind === 'dir') {
        if (skeleton === undefined) makeDir(relPath, entry);
        continue;
      }
      // Parents are verified (and leaves cleared) here, in walk order; only the writing runs in the pool.
      const abs = target.prepareLeaf(relPath);
      const { started, written } = job.write(relPath, abs, entry, pool);
      if (entry.kind === 'file' || entry.kind === 'block-image') job.remember(relPath, written);
      await started;
    }
  } catch (err) {
    await pool.settle(); // no write may outlive the job
    throw err;
  }
  await pool.drain();

  for (let i = dirs.length - 1; i >= 0; i--) {
    throwIfCancelled(ctx.signal, 'restore');
    job.finishDir(dirs[i]!);
  }
  return {};
}

/** The state of one restore job. */
class RestoreJob {
  readonly #meta: MetadataWriter;
  /** Files restored in this run, by snapshot path: what hardlinks may link to. */
  readonly #files = new Map<string, Promise<string | undefined>>();
  #count = 0;
  #bytes = 0;

  constructor(
    private readonly ctx: RestoreContext,
    private readonly target: SafeTarget,
  ) {
    this.#meta = new MetadataWriter((w) => ctx.warn(w));
  }

  counted(relPath: string, bytes: number): void {
    this.#count++;
    this.#bytes += bytes;
    this.ctx.progress.update({ files: this.#count, bytes: this.#bytes, currentPath: relPath });
  }

  remember(relPath: string, written: Promise<string | undefined>): void {
    this.#files.set(relPath, written);
  }

  /**
   * Queues writing one non-directory entry in the pool. `started` resolves
   * once the pool took it (backpressure); `written` resolves to its absolute
   * path once it is written (undefined if it was skipped or failed).
   */
  write(relPath: string, abs: string, entry: TreeEntry, pool: TaskPool): { started: Promise<void>; written: Promise<string | undefined> } {
    let settle!: (value: string | undefined) => void;
    const written = new Promise<string | undefined>((resolve) => (settle = resolve));
    const started = pool.run(async () => {
      try {
        settle((await this.#writeEntry(relPath, abs, entry)) ? abs : undefined);
      } catch (err) {
        settle(undefined);
        throw err;
      }
    }, weightOf(entry));
    return { started, written };
  }

  async #writeEntry(relPath: string, abs: string, entry: TreeEntry): Promise<boolean> {
    switch (entry.kind) {
      case 'file':
      case 'block-image':
        return this.#writeFile(relPath, abs, entry);
      case 'hardlink': {
        const first = entry.linkTo !== undefined ? await this.#files.get(entry.linkTo) : undefined;
        if (first === undefined) return this.#writeFile(relPath, abs, entry); // its group's first file is not part of this restore
        await this.#create(relPath, abs, async () => linkSync(first, abs));
        this.counted(relPath, 0);
        return true;
      }
      case 'symlink':
        await this.#create(relPath, abs, async () => symlinkSync(entry.target ?? '', abs));
        this.#meta.applyToSymlink(abs, relPath, entry);
        this.counted(relPath, 0);
        return true;
      case 'fifo':
        await this.#create(relPath, abs, () => makeFifo(abs));
        this.#meta.applyToNode(abs, relPath, entry);
        this.counted(relPath, 0);
        return true;
      case 'chardev':
      case 'blockdev':
        if (!this.#meta.asRoot) {
          this.ctx.warn({ path: relPath, code: 'E_PERMISSION', message: `${relPath}: device nodes can only be created by root; skipped` });
          return false;
        }
        await this.#create(relPath, abs, () => makeDeviceNode(abs, entry.kind as 'chardev' | 'blockdev', entry.rdev ?? 0));
        this.#meta.applyToNode(abs, relPath, entry);
        this.counted(relPath, 0);
        return true;
      case 'socket':
        this.ctx.warn({ path: relPath, code: 'E_INVALID_SOURCE', message: `${relPath}: a socket exists only while a program listens on it and cannot be restored; skipped` });
        return false;
      default:
        this.ctx.warn({ path: relPath, code: 'E_INVALID_SOURCE', message: `${relPath}: entry kind '${entry.kind}' is not a filesystem entry; skipped` });
        return false;
    }
  }

  async #writeFile(relPath: string, abs: string, entry: TreeEntry): Promise<boolean> {
    let opened;
    try {
      opened =
        entry.kind === 'block-image'
          ? await restoreImage(this.ctx, relPath, abs, entry, !this.target.overwrite) // sparse: holes stay holes
          : await createAndWrite(abs, this.ctx.readContent(entry, { borrow: true }), !this.target.overwrite, this.ctx.signal, entry.mode ?? 0o600);
    } catch (err) {
      // A damaged or missing blob costs this file only: the rest of the
      // snapshot is still restored, and the file is reported, never left
      // half-written under its name.
      if (isEbmError(err) && err.code === 'E_CORRUPT_OBJECT') {
        rmSync(abs, { force: true });
        this.ctx.warn({ path: relPath, code: 'E_CORRUPT_OBJECT', message: `${relPath}: not restored, its stored content is damaged (${err.message})` });
        return false;
      }
      throw await this.#explain(relPath, abs, err);
    }
    try {
      this.#meta.applyToDescriptor(opened.fd, abs, relPath, entry);
    } finally {
      closeSync(opened.fd);
    }
    this.counted(relPath, opened.bytes);
    return true;
  }

  /** Runs a creating call, turning "something is in the way" into a clear error. */
  async #create(relPath: string, abs: string, make: () => Promise<unknown>): Promise<void> {
    try {
      await make();
    } catch (err) {
      throw await this.#explain(relPath, abs, err);
    }
  }

  async #explain(relPath: string, abs: string, err: unknown): Promise<unknown> {
    const code = errnoCode(err);
    if (code === 'EEXIST') return this.target.explainExisting(relPath, abs);
    if (code === 'ELOOP') {
      return new EbmError('E_UNSAFE_PATH', `refusing to write ${relPath}: a symlink appeared at its place in the target; nothing was written through it`, { subject: relPath, op: 'restore' });
    }
    if (err instanceof Error && (err as { stderr?: unknown }).stderr !== undefined) {
      return new EbmError('E_PERMISSION', `${relPath}: could not be created (${messageOf(err).trim()})`, { subject: relPath, op: 'restore', cause: err });
    }
    return err;
  }

  /** Applies a directory's metadata through an O_NOFOLLOW descriptor, after its children are written. */
  finishDir(dir: RestoredDir): void {
    const fd = openSync(dir.abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      this.#meta.applyToDescriptor(fd, dir.abs, dir.relPath, dir.entry);
    } finally {
      closeSync(fd);
    }
  }
}

/** What writing an entry may hold in memory, for the pool's budget: its content, up to FILE_WEIGHT_CAP. */
function weightOf(entry: TreeEntry): number {
  const size = entry.kind === 'file' || entry.kind === 'block-image' || entry.kind === 'hardlink' ? entry.size ?? 0 : 0;
  return Math.min(Math.max(0, size), FILE_WEIGHT_CAP);
}

import * as fsp from 'node:fs/promises';
import { LRUCache } from 'lru-cache';

interface Entry {
  readonly handle: fsp.FileHandle;
  users: number;
  evicted: boolean;
  lastUsed: number;
}

/** Handles unused for this long are closed, so an idle host holds no files open. */
const IDLE_CLOSE_MS = 1000;

/**
 * Keeps recently read files open, so reading many small ranges of the same
 * pack (a restore reads one blob at a time) costs one open and close per pack
 * instead of per blob. Only for files that never change once named (packs:
 * their name is the hash of their bytes). At most `maxOpen` handles; each is
 * closed after a second without use, when evicted, or on `clear()`. A handle
 * evicted while a read is using it is closed when that read ends.
 */
export class ReadHandleCache {
  readonly #cache: LRUCache<string, Entry>;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(maxOpen = 32) {
    this.#cache = new LRUCache<string, Entry>({
      max: maxOpen,
      dispose: (entry) => {
        entry.evicted = true;
        if (entry.users === 0) void entry.handle.close().catch(() => undefined);
      },
    });
  }

  /** Runs `fn` with an open handle of `file`; opening errors propagate unchanged. */
  async with<T>(file: string, fn: (handle: fsp.FileHandle) => Promise<T>): Promise<T> {
    let entry = this.#cache.get(file);
    if (entry === undefined) {
      const handle = await fsp.open(file, 'r');
      // Another caller may have opened it meanwhile: keep one, close ours.
      const raced = this.#cache.get(file);
      if (raced !== undefined) {
        await handle.close();
        entry = raced;
      } else {
        entry = { handle, users: 0, evicted: false, lastUsed: Date.now() };
        this.#cache.set(file, entry);
        this.#startSweeper();
      }
    }
    entry.users++;
    try {
      return await fn(entry.handle);
    } finally {
      entry.users--;
      entry.lastUsed = Date.now();
      if (entry.evicted && entry.users === 0) await entry.handle.close().catch(() => undefined);
    }
  }

  /** Forgets a file (after it was removed or replaced). */
  forget(file: string): void {
    this.#cache.delete(file);
  }

  /** Closes every idle handle now (in-use ones when their read ends). */
  clear(): void {
    this.#cache.clear();
    this.#stopSweeper();
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const [file, entry] of this.#cache.entries()) {
        if (entry.users === 0 && now - entry.lastUsed >= IDLE_CLOSE_MS) this.#cache.delete(file);
      }
      if (this.#cache.size === 0) this.#stopSweeper();
    }, IDLE_CLOSE_MS);
    // Never keeps the process alive by itself.
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}

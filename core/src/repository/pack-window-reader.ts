import type { PackBlob, RepoAccess } from './pack-format';
import type { Handle } from '../backend/backend';
import { readIntoFunction } from '../mover/backend-capabilities';
import { blobReadError, loadSealedBlob } from './pack-reader';

/** Bytes read ahead from a small blob's offset: the blobs stored after it come with it. */
export const WINDOW_BYTES = 1024 * 1024;
/** Windows kept (most recent first); a few, so several files being restored at once each keep theirs. */
const WINDOWS_KEPT = 8;

interface Window {
  readonly pack: string;
  readonly start: number;
  readonly end: number;
  readonly bytes: Promise<Buffer>;
  /** The reused buffer it is read into (until given back), or undefined when the backend allocated one. */
  buffer: Buffer | undefined;
  /** Reads waiting for it or consuming it: its buffer is not reused while any is. */
  users: number;
  /** No longer kept: its buffer goes back to the pool once `users` is 0. */
  dropped: boolean;
}

/** Spare window buffers kept beyond those of the windows kept. */
const SPARE_BUFFERS = 4;

/**
 * Reads blobs' sealed bytes with read-ahead windows. A restore asks for the
 * blobs of a tree in the order a backup stored them, so a pack is mostly
 * read front to back, one small blob (~50 KiB on a typical tree) after the
 * other. One ranged read per blob cost a round trip through the I/O thread
 * pool each (about 1 s of the host thread for 20k files); a window of
 * WINDOW_BYTES from a small blob's offset serves the blobs after it from
 * memory. Requests that arrive while a window is being read wait for it.
 *
 * A blob of WINDOW_BYTES or more is read exactly, and so is any blob of a pack
 * whose blob area `areaEnd` does not know: a window never reaches past the
 * last blob the index names, so it never needs the file's size.
 *
 * When the backend can read into a given buffer (ReadIntoCapable), windows
 * are read into buffers reused from window to window. A fresh 1 MiB buffer
 * per window lived just long enough to be promoted and then died: most of
 * the host's 81 full collections (0.5-0.7 s) of a restore of the bench
 * corpus. That is why `read` hands its view to a synchronous `consume` and
 * returns what it returns: the view is never used after `consume` returns,
 * and a window's buffer is reused only once it is no longer kept and no
 * read is waiting for it or consuming it.
 */
export class PackWindowReader {
  readonly #windows: Window[] = [];
  readonly #spare: Buffer[] = [];
  readonly #loadInto: ((handle: Handle, offset: number, target: Uint8Array) => Promise<void>) | undefined;

  constructor(
    private readonly repo: Pick<RepoAccess, 'backend'>,
    /** End of the blobs the index knows in a pack (offset + length of its last blob), or undefined. */
    private readonly areaEnd: (pack: string) => number | undefined,
  ) {
    this.#loadInto = readIntoFunction(repo.backend);
  }

  /** The blob's sealed bytes, handed to `consume` (synchronous; the view is not valid after it returns). */
  async read<T>(pack: string, blob: Pick<PackBlob, 'offset' | 'length' | 'id'>, consume: (sealed: Buffer) => T): Promise<T> {
    const window = this.#covering(pack, blob) ?? this.#open(pack, blob);
    if (window === undefined) return consume(await loadSealedBlob(this.repo, pack, blob));
    window.users++;
    try {
      let bytes: Buffer;
      try {
        bytes = await window.bytes;
      } catch (err) {
        throw blobReadError(err, pack, blob);
      }
      return consume(bytes.subarray(blob.offset - window.start, blob.offset - window.start + blob.length));
    } finally {
      window.users--;
      this.#recycle(window);
    }
  }

  /**
   * Drops the windows holding a blob whose bytes turned out damaged, so the
   * next request reads the storage again (the damage may have been in the
   * read, not in the stored pack).
   */
  discard(pack: string, blob: Pick<PackBlob, 'offset' | 'length'>): void {
    for (let w = this.#covering(pack, blob); w !== undefined; w = this.#covering(pack, blob)) this.#forget(w);
  }

  #covering(pack: string, blob: Pick<PackBlob, 'offset' | 'length'>): Window | undefined {
    for (const w of this.#windows) {
      if (w.pack === pack && w.start <= blob.offset && blob.offset + blob.length <= w.end) return w;
    }
    return undefined;
  }

  /** Starts reading a window at the blob, or undefined when the blob is read alone. */
  #open(pack: string, blob: Pick<PackBlob, 'offset' | 'length'>): Window | undefined {
    const areaEnd = this.areaEnd(pack);
    if (blob.length >= WINDOW_BYTES || areaEnd === undefined || blob.offset + blob.length > areaEnd) return undefined;
    const start = blob.offset;
    const end = Math.min(areaEnd, start + WINDOW_BYTES);
    const handle: Handle = { type: 'data', name: pack };
    const buffer = this.#loadInto === undefined ? undefined : (this.#spare.pop() ?? Buffer.allocUnsafeSlow(WINDOW_BYTES));
    const bytes = buffer === undefined
      ? this.repo.backend.load(handle, start, end - start)
      : this.#loadInto!(handle, start, buffer.subarray(0, end - start)).then(() => buffer.subarray(0, end - start));
    const window: Window = { pack, start, end, bytes, buffer, users: 0, dropped: false };
    window.bytes.catch(() => this.#forget(window)); // a failed read is not kept: the next request tries again
    this.#windows.unshift(window);
    if (this.#windows.length > WINDOWS_KEPT) this.#forget(this.#windows[this.#windows.length - 1]!);
    return window;
  }

  #forget(window: Window): void {
    const at = this.#windows.indexOf(window);
    if (at >= 0) this.#windows.splice(at, 1);
    window.dropped = true;
    this.#recycle(window);
  }

  /** A dropped window's buffer goes back to the pool once nothing uses it (its read has settled: a waiting read is a user). */
  #recycle(window: Window): void {
    if (!window.dropped || window.users > 0 || window.buffer === undefined) return;
    const buffer = window.buffer;
    window.buffer = undefined; // given back once
    if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(buffer);
  }
}

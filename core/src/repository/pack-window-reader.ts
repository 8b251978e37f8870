import type { PackBlob, RepoAccess } from './pack-format';
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
}

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
 * last blob the index names, so it never needs the file's size. Only views
 * are returned (the caller decrypts them at once; a view keeps its window
 * alive until then).
 */
export class PackWindowReader {
  readonly #windows: Window[] = [];

  constructor(
    private readonly repo: Pick<RepoAccess, 'backend'>,
    /** End of the blobs the index knows in a pack (offset + length of its last blob), or undefined. */
    private readonly areaEnd: (pack: string) => number | undefined,
  ) {}

  async read(pack: string, blob: Pick<PackBlob, 'offset' | 'length' | 'id'>): Promise<Buffer> {
    const window = this.#covering(pack, blob) ?? this.#open(pack, blob);
    if (window === undefined) return loadSealedBlob(this.repo, pack, blob);
    let bytes: Buffer;
    try {
      bytes = await window.bytes;
    } catch (err) {
      throw blobReadError(err, pack, blob);
    }
    return bytes.subarray(blob.offset - window.start, blob.offset - window.start + blob.length);
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
    const window: Window = { pack, start, end, bytes: this.repo.backend.load({ type: 'data', name: pack }, start, end - start) };
    window.bytes.catch(() => this.#forget(window)); // a failed read is not kept: the next request tries again
    this.#windows.unshift(window);
    if (this.#windows.length > WINDOWS_KEPT) this.#windows.pop();
    return window;
  }

  #forget(window: Window): void {
    const at = this.#windows.indexOf(window);
    if (at >= 0) this.#windows.splice(at, 1);
  }
}

import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { BlobKind } from '../protocol/messages';
import type { MutableBackupStats } from './backup-stats';
import { ByteWindow } from './byte-window';
import { encodePutBlobs } from './put-blobs-frame';
import type { FramedBlob } from './put-blobs-frame';
import type { PortChannel } from './port-channel';

/** Blobs per query-blobs message, at most. */
export const QUERY_BATCH_BLOBS = 512;
/** Missing blobs up to this size are shipped together in put-blobs messages (framed into one buffer); larger ones alone, transferred. */
export const SMALL_BLOB_BYTES = 256 * 1024;
/** Bytes of blob data per put-blobs message, about. */
export const PUT_BATCH_BYTES = 1024 * 1024;
/**
 * Missing blobs are compressed here (with the encoder) while more than this
 * share of the window is unacknowledged, i.e. while the host is the slower
 * side; below it the host has time and compresses them itself.
 */
export const ENCODE_WHEN_WINDOW_ABOVE = 0.5;
/** Ids remembered per job as "already offered" (shipped or known present): about 100 bytes each. */
export const KNOWN_IDS_LIMIT = 65_536;

/**
 * Compresses a blob before it is shipped (only blobs the host reported
 * missing are encoded). Returns codec 1 with a zstd frame, or codec 0 when
 * compression does not pay. Supplied by the host's bootstrap worker, so the
 * SDK itself needs no compression library. The shipper calls it only while
 * the host is behind (see ENCODE_WHEN_WINDOW_ABOVE); otherwise the host
 * compresses, so the work goes to whichever thread has time.
 */
export type BlobEncoder = (plaintext: Uint8Array) => { readonly codec: 0 | 1; readonly body: Uint8Array };

interface Offered {
  readonly id: BlobId;
  readonly kind: BlobKind;
  readonly data: Uint8Array;
}

/**
 * Gets blobs into the repository with as few round trips and bytes as
 * possible: ids are batched into query-blobs messages (several in flight;
 * batches span files, so many small files share one query), and only the
 * blobs the host reports missing are sent: small ones several to a put-blobs
 * message (framed into one buffer), large ones with put-blob, their buffers
 * transferred rather than copied.
 *
 * Backpressure: an offered blob holds its size in a window of `windowBytes`
 * from the moment it is offered until the host has answered that it is
 * present or acknowledged its upload, so unacknowledged put-blob data (and
 * memory held for pending queries) never exceeds the window. `offer` waits
 * while the window is full.
 *
 * Offers complete in the background; `drain` waits for all of them and throws
 * the first failure. After a failure every further offer throws it too.
 */
export class BlobShipper {
  readonly #channel: PortChannel;
  readonly #window: ByteWindow;
  readonly #windowBytes: number;
  readonly #stats: MutableBackupStats;
  /**
   * Ids offered recently, in two generations of at most KNOWN_IDS_LIMIT / 2:
   * when the newer is full it becomes the older and the older is dropped, so
   * recently used ids stay and every operation is O(1). (A Map used as an LRU
   * — delete the first key when full — made each offer skip the deleted slots
   * at the front of V8's table: O(n) per offer once the limit was reached.)
   */
  #known = new Set<BlobId>();
  #knownBefore = new Set<BlobId>();
  readonly #inFlight = new Set<Promise<void>>();
  #batch: Offered[] = [];
  #batchBytes = 0;
  /** Queries sent so far (see endOfContent). */
  #queries = 0;
  #failure: unknown;

  readonly #encoder: BlobEncoder | undefined;

  constructor(channel: PortChannel, windowBytes: number, stats: MutableBackupStats, encoder?: BlobEncoder) {
    this.#encoder = encoder;
    this.#channel = channel;
    this.#window = new ByteWindow(windowBytes);
    this.#windowBytes = windowBytes;
    this.#stats = stats;
    channel.signal.addEventListener('abort', () => this.#fail(channel.signal.reason), { once: true });
  }

  /**
   * Offers a blob whose id the caller computed. Resolves as soon as the blob is
   * queued; the shipper owns `data` from then on (it may be transferred).
   */
  async offer(id: BlobId, kind: BlobKind, data: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    if (this.#known.has(id)) return;
    if (this.#knownBefore.has(id)) {
      this.#remember(id); // used again: keep it in the newer generation
      return;
    }
    this.#remember(id);
    this.#stats.blobsOffered++;
    if (!this.#window.tryAcquire(data.length)) {
      // Send what we hold first: its answers are what frees the window.
      this.flush();
      await this.#window.acquire(data.length);
    }
    this.#batch.push({ id, kind, data });
    this.#batchBytes += data.length;
    // Bytes held in an unsent batch are bytes nobody can release: with a producer already queued for room
    // (this offer was let in ahead of it), send them now, or that producer could wait forever.
    if (this.#batch.length >= QUERY_BATCH_BLOBS || this.#batchBytes >= this.#windowBytes / 4 || this.#window.waiting > 0) this.flush();
  }

  /**
   * Called at the end of each content (a file): sends the batch if it holds
   * at least 2^q ids after q queries, up to QUERY_BATCH_BLOBS — a slow start,
   * so the first files' ids go out at once (the host starts working, and a
   * cancel reaches a plugin still at work) while a tree of small files soon
   * shares one query per QUERY_BATCH_BLOBS files. Deterministic: which
   * messages a job sends never depends on timing (the conformance harness
   * cancels after the Nth message and relies on that); no timers.
   */
  endOfContent(): void {
    if (this.#batch.length >= Math.min(QUERY_BATCH_BLOBS, 2 ** this.#queries)) this.flush();
  }

  /**
   * Sends the ids collected so far as one query now. Otherwise a batch goes
   * at the end of a content (endOfContent), when it is full (QUERY_BATCH_BLOBS
   * ids or a quarter of the window), when the window is full, or at drain.
   */
  flush(): void {
    if (this.#batch.length === 0) return;
    this.#queries++;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#track(
      this.#channel.request({ t: 'query-blobs', ids: batch.map((b) => b.id) }).then((reply) => this.#onQueryReply(batch, reply.missing)),
    );
  }

  /** Waits until every offered blob is known present or acknowledged; throws the first failure. */
  async drain(): Promise<void> {
    this.flush();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#throwIfFailed();
  }

  #onQueryReply(batch: readonly Offered[], missing: readonly BlobId[]): void {
    if (!Array.isArray(missing)) throw new EbmError('E_PROTOCOL', 'the host answered query-blobs without a "missing" list');
    const missingSet = new Set(missing);
    let group: Offered[] = [];
    let groupBytes = 0;
    for (const blob of batch) {
      if (!missingSet.delete(blob.id)) {
        this.#window.release(blob.data.length);
      } else if (blob.data.length > SMALL_BLOB_BYTES) {
        this.#ship(blob);
      } else {
        group.push(blob);
        groupBytes += blob.data.length;
        if (groupBytes >= PUT_BATCH_BYTES) {
          this.#shipGroup(group);
          group = [];
          groupBytes = 0;
        }
      }
    }
    if (group.length > 0) this.#shipGroup(group);
    if (missingSet.size > 0) {
      throw new EbmError('E_PROTOCOL', `the host reported ${missingSet.size} blob(s) missing that were not asked about, e.g. ${[...missingSet][0]}`);
    }
  }

  #ship(blob: Offered): void {
    const bytes = blob.data.length;
    const encoded = this.#encode(blob.data);
    const body = encoded?.codec === 1 ? encoded.body : blob.data;
    const data = ownsItsBuffer(body) ? body : copyOf(body);
    const message = { t: 'put-blob' as const, id: blob.id, kind: blob.kind, data, ...(encoded !== undefined ? { codec: encoded.codec === 1 ? 1 as const : 2 as const } : {}) };
    this.#track(this.#channel.request(message, [data.buffer as ArrayBuffer]).then(() => this.#shipped(1, bytes)));
  }

  /**
   * Ships small blobs in one put-blobs message: their (encoded) bytes framed
   * into one buffer, which is copied, not transferred: for these frames
   * (~0.5 MiB) transferring measured about 3x slower than copying, in the
   * worker's postMessage (a large single blob is still transferred: there the
   * two cost the same and the copy would double its memory).
   */
  #shipGroup(group: readonly Offered[]): void {
    if (group.length === 1) return this.#ship(group[0]!);
    let bytes = 0;
    const framed = group.map((blob): FramedBlob => {
      bytes += blob.data.length;
      const encoded = this.#encode(blob.data);
      return encoded?.codec === 1
        ? { id: blob.id, kind: blob.kind, codec: 1, body: encoded.body }
        : { id: blob.id, kind: blob.kind, codec: encoded === undefined ? 0 : 2, body: blob.data }; // 2: tried, not worth it
    });
    const data = encodePutBlobs(framed);
    this.#track(this.#channel.request({ t: 'put-blobs', data }).then(() => this.#shipped(group.length, bytes)));
  }

  /** The encoder's output while the host is behind (see ENCODE_WHEN_WINDOW_ABOVE), else undefined (ship plaintext). */
  #encode(data: Uint8Array): { readonly codec: 0 | 1; readonly body: Uint8Array } | undefined {
    if (this.#encoder === undefined || this.#window.inFlight <= this.#windowBytes * ENCODE_WHEN_WINDOW_ABOVE) return undefined;
    return this.#encoder(data);
  }

  #shipped(blobs: number, bytes: number): void {
    this.#stats.blobsShipped += blobs;
    this.#stats.bytesShipped += bytes;
    this.#window.release(bytes);
  }

  #track(promise: Promise<void>): void {
    const tracked = promise.catch((err: unknown) => this.#fail(err));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  #remember(id: BlobId): void {
    if (this.#known.size >= KNOWN_IDS_LIMIT / 2) {
      this.#knownBefore = this.#known;
      this.#known = new Set();
    }
    this.#known.add(id);
  }

  #fail(err: unknown): void {
    if (this.#failure === undefined) this.#failure = err;
    this.#window.fail(this.#failure);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/** True when the array spans its whole ArrayBuffer, so transferring the buffer moves exactly this blob. */
function ownsItsBuffer(data: Uint8Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer);
}

function copyOf(data: Uint8Array): Uint8Array {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return copy;
}

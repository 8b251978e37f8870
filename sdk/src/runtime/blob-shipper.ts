import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { BlobCodec, BlobKind } from '../protocol/messages';
import type { MutableBackupStats } from './backup-stats';
import { ByteWindow } from './byte-window';
import { encodePutBlobs } from './put-blobs-frame';
import type { FramedBlob } from './put-blobs-frame';
import type { PortChannel } from './port-channel';
import { RecentIds } from './recent-ids';
import { returnRing, takeRing } from './shared-ring';
import type { SharedRing } from './shared-ring';

/** Blobs per query-blobs message, at most. */
export const QUERY_BATCH_BLOBS = 512;
/** Missing blobs up to this size are shipped together in put-blobs messages (one index for all); larger ones alone. */
export const SMALL_BLOB_BYTES = 256 * 1024;
/** Bytes of blob data per put-blobs message, about. */
export const PUT_BATCH_BYTES = 1024 * 1024;
/**
 * Missing blobs are compressed here (with the encoder) while the blobs already
 * shipped and not yet acknowledged hold more than this share of the window,
 * i.e. while the host has a queue of work and is the slower side; otherwise
 * the host has time and compresses them itself. A window of only a blob or
 * two never holds such a queue, so then the host compresses everything.
 * Counting every unacknowledged byte of the window instead (pending queries
 * included) made the worker compress twice as much as the host while the
 * host sat idle a third of a first backup; with this measure both threads
 * are about equally busy, and the backup is ~5 % faster.
 */
export const ENCODE_WHEN_HOST_HOLDS_ABOVE = 0.25;

/**
 * Compresses a blob before it is shipped (only blobs the host reported
 * missing are encoded). Returns codec 1 with a zstd frame, or codec 0 when
 * compression does not pay. Supplied by the host's bootstrap worker, so the
 * SDK itself needs no compression library. The shipper calls it only while
 * the host is behind (see ENCODE_WHEN_HOST_HOLDS_ABOVE); otherwise the host
 * compresses, so the work goes to whichever thread has time. The body may be
 * the encoder's own scratch buffer, valid until its next call: the shipper
 * copies it at once (over the plaintext, in the blob's region).
 */
export type BlobEncoder = (plaintext: Uint8Array) => { readonly codec: 0 | 1; readonly body: Uint8Array };

interface Offered {
  readonly id: BlobId;
  readonly kind: BlobKind;
  /** The blob's bytes: a region of the ring, or a private copy (see #spill). */
  readonly data: Uint8Array;
  /** data.length as offered (a private copy is detached once transferred). */
  readonly bytes: number;
}

/** Ring size per byte of window: room for the window in flight plus what waits to enter it (see BlobShipper). */
export const RING_BYTES_PER_WINDOW_BYTE = 2;

/**
 * Gets blobs into the repository with as few round trips, bytes and
 * allocations as possible: ids are batched into query-blobs messages (several
 * in flight; batches span files, so many small files share one query), and
 * only the blobs the host reports missing are sent: small ones several to a
 * put-blobs message, large ones with put-blob.
 *
 * Memory: an offered blob is copied once, into the job's SharedRing, and
 * crosses to the host as a view of it (no copy, no transfer, no buffer to
 * collect on either side). It stays there until the host has answered that
 * the blob is present or acknowledged its upload. A blob larger than the ring,
 * or one offered with `offerNow` while the ring is full, gets a private copy
 * instead (a spill), which is transferred.
 *
 * Backpressure: an offered blob also holds its size in a window of
 * `windowBytes` for the same time, so unacknowledged put-blob data (and memory
 * held for pending queries) never exceeds the window; offers wait while it is
 * full. The ring is RING_BYTES_PER_WINDOW_BYTE times the window, so a blob
 * waiting for the window seldom waits for ring room too.
 *
 * Offers complete in the background; `drain` waits for all of them and throws
 * the first failure. After a failure every further offer throws it too.
 */
export class BlobShipper {
  readonly #channel: PortChannel;
  readonly #window: ByteWindow;
  readonly #ring: SharedRing;
  readonly #windowBytes: number;
  readonly #stats: MutableBackupStats;
  /** Ids offered recently (shipped or known present): offered again, they cost nothing. */
  readonly #offered = new RecentIds();
  readonly #inFlight = new Set<Promise<void>>();
  #batch: Offered[] = [];
  #batchBytes = 0;
  /** Queries sent so far (see endOfContent). */
  #queries = 0;
  #failure: unknown;
  /** Bytes (as offered) of blobs shipped in put messages the host has not acknowledged yet: the host's queue. */
  #shippedUnacked = 0;

  readonly #encoder: BlobEncoder | undefined;

  constructor(channel: PortChannel, windowBytes: number, stats: MutableBackupStats, encoder?: BlobEncoder) {
    this.#encoder = encoder;
    this.#channel = channel;
    this.#window = new ByteWindow(windowBytes);
    this.#ring = takeRing(windowBytes * RING_BYTES_PER_WINDOW_BYTE);
    this.#windowBytes = windowBytes;
    this.#stats = stats;
    channel.signal.addEventListener('abort', () => this.#fail(channel.signal.reason), { once: true });
  }

  /**
   * Offers a blob whose id the caller computed. `data` must stay unchanged
   * until the returned promise settles (the shipper copies it, waiting for
   * room in the ring if need be); the promise resolves once the blob is queued.
   */
  async offer(id: BlobId, kind: BlobKind, data: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    if (!this.#offered.add(id)) return;
    if (data.length > this.#ring.capacity) return this.#enqueue(id, kind, spill(data));
    let region = this.#ring.tryAcquire(data.length);
    if (region === undefined) {
      this.flush(); // regions held by an unsent batch are regions nobody can release
      region = await this.#ring.acquire(data.length);
    }
    region.set(data);
    return this.#enqueue(id, kind, region);
  }

  /**
   * Like `offer`, but copies `data` before it returns: the caller may reuse
   * it at once (into a private copy when the ring has no room now).
   */
  offerNow(id: BlobId, kind: BlobKind, data: Uint8Array): Promise<void> {
    try {
      this.#throwIfFailed();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.#offered.add(id)) return Promise.resolve();
    const region = data.length <= this.#ring.capacity ? this.#ring.tryAcquire(data.length) : undefined;
    if (region === undefined) return this.#enqueue(id, kind, spill(data));
    region.set(data);
    return this.#enqueue(id, kind, region);
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
   * ids or a quarter of the window), when the window or the ring is full, or
   * at drain.
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

  /** The job is over: its ring may serve the next job of this thread (only if the host answered for every blob). */
  close(): void {
    returnRing(this.#ring);
  }

  /** Takes the blob's share of the window (waiting while it is full), then queues it for the next query. */
  async #enqueue(id: BlobId, kind: BlobKind, data: Uint8Array): Promise<void> {
    this.#stats.blobsOffered++;
    if (!this.#window.tryAcquire(data.length)) {
      // Send what we hold first: its answers are what frees the window.
      this.flush();
      await this.#window.acquire(data.length);
    }
    this.#batch.push({ id, kind, data, bytes: data.length });
    this.#batchBytes += data.length;
    // Bytes held in an unsent batch are bytes nobody can release: with a producer already queued for room
    // (this offer was let in ahead of it), send them now, or that producer could wait forever.
    if (this.#batch.length >= QUERY_BATCH_BLOBS || this.#batchBytes >= this.#windowBytes / 4 || this.#window.waiting > 0 || this.#ring.waiting > 0) this.flush();
  }

  #onQueryReply(batch: readonly Offered[], missing: readonly BlobId[]): void {
    if (!Array.isArray(missing)) throw new EbmError('E_PROTOCOL', 'the host answered query-blobs without a "missing" list');
    const missingSet = new Set(missing);
    let group: Offered[] = [];
    let groupBytes = 0;
    for (const blob of batch) {
      if (!missingSet.delete(blob.id)) {
        this.#release(blob);
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
    const { codec, body } = this.#encodeInPlace(blob);
    const transfer = this.#ring.holds(blob.data) ? [] : [body.buffer as ArrayBuffer]; // a spill owns its buffer
    const message = { t: 'put-blob' as const, id: blob.id, kind: blob.kind, data: body, ...(codec !== 0 ? { codec } : {}) };
    this.#shippedUnacked += blob.bytes;
    this.#track(this.#channel.request(message, transfer).then(() => this.#shipped([blob])));
  }

  /** Ships small blobs in one put-blobs message: one index of their places, the bodies where they are (the ring). */
  #shipGroup(group: readonly Offered[]): void {
    if (group.length === 1) return this.#ship(group[0]!);
    const framed = group.map((blob): FramedBlob => ({ id: blob.id, kind: blob.kind, ...this.#encodeInPlace(blob) }));
    const { index, buffers } = encodePutBlobs(framed);
    for (const blob of group) this.#shippedUnacked += blob.bytes;
    this.#track(this.#channel.request({ t: 'put-blobs', index, buffers }).then(() => this.#shipped(group)));
  }

  /**
   * The bytes to ship for a blob and their codec. While the host is behind
   * (see ENCODE_WHEN_HOST_HOLDS_ABOVE) the encoder compresses the blob, and a
   * smaller zstd frame replaces the plaintext in the blob's own memory (which
   * holds nothing else until the host acknowledges it): codec 1, or 2 when
   * compression did not pay. Otherwise the plaintext goes as it is: codec 0.
   */
  #encodeInPlace(blob: Offered): { readonly codec: BlobCodec; readonly body: Uint8Array } {
    if (this.#encoder === undefined || this.#shippedUnacked <= this.#windowBytes * ENCODE_WHEN_HOST_HOLDS_ABOVE) return { codec: 0, body: blob.data };
    const encoded = this.#encoder(blob.data);
    if (encoded.codec !== 1 || encoded.body.length > blob.data.length) return { codec: 2, body: blob.data };
    const body = blob.data.subarray(0, encoded.body.length);
    body.set(encoded.body);
    return { codec: 1, body };
  }

  #shipped(blobs: readonly Offered[]): void {
    for (const blob of blobs) {
      this.#stats.blobsShipped++;
      this.#shippedUnacked -= blob.bytes;
      this.#stats.bytesShipped += blob.bytes;
      this.#release(blob);
    }
  }

  /** The host has the blob: its window share and its ring region are free again. */
  #release(blob: Offered): void {
    this.#window.release(blob.bytes);
    if (this.#ring.holds(blob.data)) this.#ring.release(blob.data);
  }

  #track(promise: Promise<void>): void {
    const tracked = promise.catch((err: unknown) => this.#fail(err));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  #fail(err: unknown): void {
    if (this.#failure === undefined) this.#failure = err;
    this.#window.fail(this.#failure);
    this.#ring.fail(this.#failure);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/** A private copy of `data` that owns its whole ArrayBuffer (so it can be transferred to the host). */
function spill(data: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(data.length));
  copy.set(data);
  return copy;
}

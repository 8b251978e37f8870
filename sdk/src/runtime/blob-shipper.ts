import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { BlobCodec, BlobKind } from '../protocol/messages';
import type { MutableBackupStats } from './backup-stats';
import { ByteWindow } from './byte-window';
import type { PortChannel } from './port-channel';

/** Blobs per query-blobs message. */
export const QUERY_BATCH_BLOBS = 16;
/** Ids remembered per job as "already offered" (shipped or known present): about 100 bytes each. */
export const KNOWN_IDS_LIMIT = 262_144;

/**
 * Compresses a blob before it is shipped (only blobs the host reported
 * missing are encoded). Returns codec 1 with a zstd frame, or codec 0 when
 * compression does not pay. Supplied by the host's bootstrap worker, so the
 * SDK itself needs no compression library.
 */
export type BlobEncoder = (plaintext: Uint8Array) => { readonly codec: BlobCodec; readonly body: Uint8Array };

interface Offered {
  readonly id: BlobId;
  readonly kind: BlobKind;
  readonly data: Uint8Array;
}

/**
 * Gets blobs into the repository with as few round trips and bytes as
 * possible: ids are batched into query-blobs messages (several in flight),
 * and only the blobs the host reports missing are sent with put-blob, their
 * buffers transferred rather than copied.
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
  /** Insertion-ordered, so the first key is the least recently used. */
  readonly #known = new Map<BlobId, true>();
  readonly #inFlight = new Set<Promise<void>>();
  #batch: Offered[] = [];
  #batchBytes = 0;
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
    if (this.#known.has(id)) {
      this.#known.delete(id);
      this.#known.set(id, true);
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
    if (this.#batch.length >= QUERY_BATCH_BLOBS || this.#batchBytes >= this.#windowBytes / 4) this.flush();
  }

  /** Sends the ids collected so far as one query (call at the end of a file). */
  flush(): void {
    if (this.#batch.length === 0) return;
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
    for (const blob of batch) {
      if (missingSet.delete(blob.id)) this.#ship(blob);
      else this.#window.release(blob.data.length);
    }
    if (missingSet.size > 0) {
      throw new EbmError('E_PROTOCOL', `the host reported ${missingSet.size} blob(s) missing that were not asked about, e.g. ${[...missingSet][0]}`);
    }
  }

  #ship(blob: Offered): void {
    const bytes = blob.data.length;
    const encoded = this.#encoder?.(blob.data);
    const body = encoded?.codec === 1 ? encoded.body : blob.data;
    const data = ownsItsBuffer(body) ? body : copyOf(body);
    const message = { t: 'put-blob' as const, id: blob.id, kind: blob.kind, data, ...(encoded?.codec === 1 ? { codec: 1 as const } : {}) };
    this.#track(
      this.#channel.request(message, [data.buffer as ArrayBuffer]).then(() => {
        this.#stats.blobsShipped++;
        this.#stats.bytesShipped += bytes;
        this.#window.release(bytes);
      }),
    );
  }

  #track(promise: Promise<void>): void {
    const tracked = promise.catch((err: unknown) => this.#fail(err));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  #remember(id: BlobId): void {
    this.#known.set(id, true);
    if (this.#known.size > KNOWN_IDS_LIMIT) this.#known.delete(this.#known.keys().next().value as BlobId);
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

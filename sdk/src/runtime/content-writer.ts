import { computeBlobId } from '../chunker/blob-id';
import { Chunker } from '../chunker/fastcdc';
import { createGearTable } from '../chunker/gear-table';
import type { BlobId } from '../entry/entry';
import { throwIfCancelled } from '../errors/ebm-error';
import type { ContentAddressing } from '../protocol/messages';
import type { ContentSource, StoredContent } from '../translator/context';
import type { MutableBackupStats } from './backup-stats';
import type { BlobShipper } from './blob-shipper';

/** Bytes chunked between two turns of the event loop. */
const YIELD_EVERY_BYTES = 1024 * 1024;
/** Carry buffers kept for reuse (one is in use per content being written from an iterator). */
const CARRIES_KEPT = 4;

/**
 * TreeWriter.writeContent: source → FastCDC chunks → blob ids → the shipper
 * (which asks the host what is missing and uploads only that).
 *
 * `write` resolves once every chunk is hashed and queued, not when the upload
 * finishes, so the translator can read the next file while this one's queries
 * are answered; the task drains the shipper before it reports success.
 * It waits (backpressure) while the shipper's window is full.
 *
 * Copies: a chunk is hashed where it lies in the source's piece and copied
 * once, into the shipper's shared ring. Only the bytes of a chunk that spans
 * pieces are gathered first, into a carry buffer reused from content to
 * content (ContentSource's contract lets the source reuse a piece as soon as
 * the next is asked for). No buffer is allocated per chunk.
 */
export class ContentWriter {
  readonly #addressing: ContentAddressing;
  readonly #gearTable: Uint32Array;
  readonly #shipper: BlobShipper;
  readonly #signal: AbortSignal;
  readonly #stats: MutableBackupStats;
  /** Content arrays this writer produced: a file entry carrying one was read, any other was reused. */
  readonly #produced = new WeakSet<readonly BlobId[]>();
  readonly #carries: Carry[] = [];
  #sinceYield = 0;

  constructor(addressing: ContentAddressing, shipper: BlobShipper, signal: AbortSignal, stats: MutableBackupStats) {
    this.#addressing = addressing;
    this.#gearTable = createGearTable(addressing.chunker.gearKey);
    new Chunker(addressing.chunker, this.#gearTable); // validates the parameters once, up front
    this.#shipper = shipper;
    this.#signal = signal;
    this.#stats = stats;
  }

  async write(source: ContentSource): Promise<StoredContent> {
    if (source === null || typeof source !== 'object' || !(Symbol.asyncIterator in source || Symbol.iterator in source)) {
      throw new TypeError('writeContent(source): the source must be an (async) iterable of Uint8Array, e.g. a Readable stream');
    }
    if (this.#signal.aborted) {
      // Cancelled before reading began: the source is ours to close (a stream
      // would otherwise keep its file open, and an abort signal it was given
      // would later surface as an unhandled error in the worker).
      await closeSource(source);
      throwIfCancelled(this.#signal, 'backup');
    }
    if (Array.isArray(source)) return this.#writeArray(source as readonly unknown[]);
    const ids: BlobId[] = [];
    const chunker = new Chunker(this.#addressing.chunker, this.#gearTable);
    const carry = this.#takeCarry();
    let size = 0;
    try {
      for await (const piece of source) {
        // Everything this piece holds is stored or carried before the next piece is asked for.
        const bytes = this.#accept(piece);
        size += bytes.length;
        for (const chunk of completedChunks(chunker, carry, bytes)) await this.#store(chunk, ids);
      }
      if (carry.length > 0) await this.#store(carry.bytes(), ids);
    } finally {
      this.#giveBackCarry(carry);
    }
    this.#shipper.endOfContent(); // batches span files: many small files share one query
    return this.#done(size, ids);
  }

  /**
   * An array source is chunked, hashed and copied now, before `write`
   * returns its promise (the caller may reuse the array's buffers from then
   * on: ContentSource). The common small file (at most minSize bytes in all)
   * is exactly one chunk, the chunker would cut none: no gear scan.
   */
  #writeArray(pieces: readonly unknown[]): Promise<StoredContent> {
    let queued: Promise<void>[];
    const ids: BlobId[] = [];
    let size = 0;
    try {
      const accepted = pieces.map((piece) => this.#accept(piece));
      for (const bytes of accepted) size += bytes.length;
      queued = this.#chunkNow(accepted, size, ids);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#settle(queued, ids, size);
  }

  /** Queues every chunk of `pieces` (copied before this returns); their ids go to `ids`. */
  #chunkNow(pieces: readonly Uint8Array[], size: number, ids: BlobId[]): Promise<void>[] {
    const queued: Promise<void>[] = [];
    const storeNow = (chunk: Uint8Array): void => {
      const id = computeBlobId(this.#addressing.idKey, chunk);
      ids.push(id);
      queued.push(this.#shipper.offerNow(id, 'data', chunk));
    };
    if (size === 0) return queued;
    if (pieces.length === 1 && size <= this.#addressing.chunker.minSize) {
      storeNow(pieces[0]!);
      return queued;
    }
    const carry = this.#takeCarry();
    try {
      if (size <= this.#addressing.chunker.minSize) {
        for (const bytes of pieces) carry.append(bytes);
        storeNow(carry.bytes());
        return queued;
      }
      const chunker = new Chunker(this.#addressing.chunker, this.#gearTable);
      for (const bytes of pieces) for (const chunk of completedChunks(chunker, carry, bytes)) storeNow(chunk);
      if (carry.length > 0) storeNow(carry.bytes());
      return queued;
    } finally {
      this.#giveBackCarry(carry);
    }
  }

  /** A carry buffer for one content: a kept one, or a new one. */
  #takeCarry(): Carry {
    return this.#carries.pop() ?? new Carry(this.#addressing.chunker.maxSize);
  }

  /** Empties a carry and keeps it for the next content (up to CARRIES_KEPT). */
  #giveBackCarry(carry: Carry): void {
    carry.clear();
    if (this.#carries.length < CARRIES_KEPT) this.#carries.push(carry);
  }

  /** Waits for the queued offers of an array source in order (backpressure), then finishes its content. */
  async #settle(queued: readonly Promise<void>[], ids: BlobId[], size: number): Promise<StoredContent> {
    // Observe every offer at once: one that fails while an earlier one is awaited must not go unhandled.
    for (const offer of queued) offer.catch(() => undefined);
    for (const offer of queued) await offer;
    this.#shipper.endOfContent();
    await this.#yieldEveryMiB(size);
    return this.#done(size, ids);
  }

  /** Checks one piece of a source (cancelled? a Uint8Array?) and counts it as read. */
  #accept(piece: unknown): Uint8Array {
    throwIfCancelled(this.#signal, 'backup');
    if (!(piece instanceof Uint8Array)) {
      throw new TypeError(`writeContent(source): the source yielded a ${typeof piece}, not a Uint8Array (do not set an encoding on the stream)`);
    }
    this.#stats.bytesRead += piece.length;
    return piece;
  }

  #done(size: number, ids: BlobId[]): StoredContent {
    const content = Object.freeze(ids);
    this.#produced.add(content);
    return Object.freeze({ size, content });
  }

  /** True when `content` is an array returned by `write` (the file was read, not reused). */
  produced(content: readonly BlobId[]): boolean {
    return this.#produced.has(content);
  }

  /** Hashes a chunk and offers it; `chunk` stays unchanged until this resolves (the shipper copies it). */
  async #store(chunk: Uint8Array, ids: BlobId[]): Promise<void> {
    const id = computeBlobId(this.#addressing.idKey, chunk);
    ids.push(id);
    await this.#shipper.offer(id, 'data', chunk);
    await this.#yieldEveryMiB(chunk.length);
  }

  /**
   * A source that never waits for I/O would otherwise starve the event loop:
   * the host's replies and its cancel are only read between macrotasks.
   */
  async #yieldEveryMiB(bytes: number): Promise<void> {
    this.#sinceYield += bytes;
    if (this.#sinceYield < YIELD_EVERY_BYTES) return;
    this.#sinceYield = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Feeds one piece to the chunker and yields each chunk it completes: a view
 * of the piece, or of `carry` when the chunk began in earlier pieces. A
 * yielded chunk stays valid until the caller resumes the generator (which
 * then clears the carry); the piece's tail after the last cut is carried.
 * The iterable and the array paths of ContentWriter both cut through this.
 */
function* completedChunks(chunker: Chunker, carry: Carry, bytes: Uint8Array): Generator<Uint8Array> {
  let from = 0;
  for (const cut of chunker.cuts(bytes)) {
    yield carry.length > 0 ? carry.append(bytes.subarray(from, cut)) : bytes.subarray(from, cut);
    carry.clear();
    from = cut;
  }
  if (from < bytes.length) carry.append(bytes.subarray(from));
}

/**
 * The bytes of a chunk in progress that arrived in earlier pieces: a growing
 * buffer, kept for the next content when done (so its size settles at the
 * largest chunk that spanned pieces).
 */
class Carry {
  #buffer = new Uint8Array(0);
  length = 0;

  /** `limit`: the most it ever holds (the chunker's maxSize), so growth stops there. */
  constructor(private readonly limit: number) {}

  /** Appends `bytes`; returns everything carried, as a view valid until the next append or clear. */
  append(bytes: Uint8Array): Uint8Array {
    const needed = this.length + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, Math.min(this.limit, Math.max(this.#buffer.length * 2, 64 * 1024))));
      grown.set(this.#buffer.subarray(0, this.length));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.length);
    this.length = needed;
    return this.bytes();
  }

  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

/** Releases a source that will not be read: destroy() for streams, return() for iterators. */
async function closeSource(source: ContentSource): Promise<void> {
  try {
    const stream = source as { destroy?: () => void };
    if (typeof stream.destroy === 'function') {
      stream.destroy();
      return;
    }
    const iterable = source as Partial<AsyncIterable<Uint8Array>> & Partial<Iterable<Uint8Array>>;
    const iterator = iterable[Symbol.asyncIterator]?.() ?? iterable[Symbol.iterator]?.();
    await iterator?.return?.();
  } catch {
    // closing is best effort: the cancellation is what the caller reports
  }
}

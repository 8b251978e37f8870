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

/**
 * TreeWriter.writeContent: source → FastCDC chunks → blob ids → the shipper
 * (which asks the host what is missing and uploads only that).
 *
 * `write` resolves once every chunk is hashed and queued, not when the upload
 * finishes, so the translator can read the next file while this one's queries
 * are answered; the task drains the shipper before it reports success.
 * It waits (backpressure) while the shipper's window is full.
 */
export class ContentWriter {
  readonly #addressing: ContentAddressing;
  readonly #gearTable: Uint32Array;
  readonly #shipper: BlobShipper;
  readonly #signal: AbortSignal;
  readonly #stats: MutableBackupStats;
  /** Content arrays this writer produced: a file entry carrying one was read, any other was reused. */
  readonly #produced = new WeakSet<readonly BlobId[]>();
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
    const ids: BlobId[] = [];
    if (Array.isArray(source)) {
      // Chunked now, before the first await: chunks own copies of their bytes, so the caller
      // may reuse the array's buffers as soon as writeContent returns (see ContentSource).
      const { size, chunks } = this.#chunkNow(source as readonly unknown[]);
      for (const chunk of chunks) await this.#store(chunk, ids);
      this.#shipper.endOfContent();
      return this.#done(size, ids);
    }
    const chunker = new Chunker(this.#addressing.chunker, this.#gearTable);
    let size = 0;
    for await (const piece of source) {
      // The chunker copies what it keeps before the next piece is asked for: a source may reuse its buffer then.
      size += this.#accept(piece).length;
      for (const chunk of chunker.push(piece)) await this.#store(chunk, ids);
    }
    const last = chunker.finish();
    if (last !== undefined) await this.#store(last, ids);
    this.#shipper.endOfContent(); // batches span files: many small files share one query
    return this.#done(size, ids);
  }

  /**
   * Chunks an array source at once; the chunks are copies, the pieces are not
   * kept. The common small file (at most minSize bytes in all) is exactly one
   * chunk, the chunker would cut none: it is copied into one without the gear
   * scan.
   */
  #chunkNow(pieces: readonly unknown[]): { size: number; chunks: Uint8Array[] } {
    const accepted = pieces.map((piece) => this.#accept(piece));
    let size = 0;
    for (const bytes of accepted) size += bytes.length;
    if (size <= this.#addressing.chunker.minSize) return { size, chunks: size === 0 ? [] : [joined(accepted, size)] };
    const chunker = new Chunker(this.#addressing.chunker, this.#gearTable);
    const chunks: Uint8Array[] = [];
    for (const bytes of accepted) for (const chunk of chunker.push(bytes)) chunks.push(chunk);
    const last = chunker.finish();
    if (last !== undefined) chunks.push(last);
    return { size, chunks };
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

  async #store(chunk: Uint8Array, ids: BlobId[]): Promise<void> {
    const id = computeBlobId(this.#addressing.idKey, chunk);
    ids.push(id);
    this.#sinceYield += chunk.length; // before the offer: the shipper owns (and may transfer) the chunk from then on
    await this.#shipper.offer(id, 'data', chunk);
    if (this.#sinceYield >= YIELD_EVERY_BYTES) {
      // A source that never waits for I/O would otherwise starve the event loop:
      // the host's replies and its cancel are only read between macrotasks.
      this.#sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

/** The pieces' bytes in one buffer that owns its ArrayBuffer (the shipper may transfer it). */
function joined(pieces: readonly Uint8Array[], size: number): Uint8Array {
  const chunk = new Uint8Array(new ArrayBuffer(size));
  let at = 0;
  for (const piece of pieces) {
    chunk.set(piece, at);
    at += piece.length;
  }
  return chunk;
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

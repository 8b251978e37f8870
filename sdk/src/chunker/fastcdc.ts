import { EbmError } from '../errors/ebm-error';
import { ChunkerParams } from './chunker-params';
import { createGearTable } from './gear-table';

/**
 * FastCDC content-defined chunking, algorithm 'fastcdc-gear32-v1'
 * (Xia et al., USENIX ATC 2016), exactly as docs/format.md specifies it:
 *
 * - gear hash over the bytes of the current chunk, 32-bit:
 *   `h = ((h << 1) + G[byte]) mod 2^32`, starting from h = 0;
 * - the first `minSize` bytes of a chunk are skipped (not hashed);
 * - with b = log2(avgSize) and n = normalization, the byte at chunk offset
 *   i (0-based, i >= minSize) ends the chunk (length i + 1) when
 *   `h & maskS == 0` for i < avgSize, or `h & maskL == 0` for i >= avgSize,
 *   where maskS has the top (b + n) bits of 32 set and maskL the top (b - n)
 *   bits. The top bits are used because a left-shifting gear hash mixes the
 *   most bytes (the last 32) into its high bits;
 * - a chunk that reaches `maxSize` bytes is cut there;
 * - the bytes after the last cut form the last chunk (possibly shorter than
 *   minSize).
 * Boundaries depend only on the bytes since the previous boundary, so they are
 * the same however the input is split into `push` calls, and an insertion
 * changes only the chunks around it.
 */
export class Chunker {
  readonly #min: number;
  readonly #avg: number;
  readonly #max: number;
  readonly #maskS: number;
  readonly #maskL: number;
  /** The gear table as signed 32-bit values: the same bits, cheaper arithmetic in V8. */
  readonly #gear: Int32Array;
  /** push's copies of the bytes of the current, not yet complete chunk (cuts keeps none). */
  #pending: Uint8Array[] = [];
  /** Bytes of the current chunk fed so far (by push or cuts). */
  #pendingLength = 0;
  #hash = 0;

  /** `gearTable` may be passed to skip deriving it from `params.gearKey` (it is memoised anyway). */
  constructor(params: ChunkerParams, gearTable?: Uint32Array) {
    const { minSize, avgSize, maxSize, normalization } = validateChunkerParams(params);
    const table = gearTable ?? createGearTable(params.gearKey);
    if (table.length !== 256) throw new RangeError('Chunker: a gear table has 256 entries');
    this.#min = minSize;
    this.#avg = avgSize;
    this.#max = maxSize;
    const bits = Math.log2(avgSize);
    this.#maskS = topBits(bits + normalization);
    this.#maskL = topBits(bits - normalization);
    this.#gear = new Int32Array(table.buffer, table.byteOffset, 256);
  }

  /**
   * Feeds bytes; returns the chunks completed by them, in order. Never keeps
   * a reference to `data`. Every returned chunk is a fresh array that owns its
   * whole ArrayBuffer (so it can be transferred to another thread).
   */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let from = 0;
    for (const cut of this.cuts(data)) {
      out.push(this.#joinPending(data.subarray(from, cut)));
      from = cut;
    }
    if (from < data.length) this.#pending.push(copyOf(data, from, data.length));
    return out;
  }

  /**
   * Boundaries only, for callers that keep the bytes themselves: feeds `data`
   * and returns the offsets in it at which chunks end, in order. The first
   * chunk also holds the bytes fed since the previous cut (which the caller
   * kept); the bytes after the last offset start the next chunk. Copies
   * nothing, keeps no reference to `data`. The cuts are exactly push's (push
   * is built on it). After the input ends, the bytes since the last cut (if
   * any) are the last chunk; `reset` before reusing the chunker.
   */
  cuts(data: Uint8Array): number[] {
    const out: number[] = [];
    const end = data.length;
    let offset = 0;
    while (offset < end) {
      const cut = this.#scan(data, offset, end);
      if (cut < 0) {
        this.#pendingLength += end - offset;
        break;
      }
      out.push(cut);
      this.#pendingLength = 0;
      this.#hash = 0;
      offset = cut;
    }
    return out;
  }

  /** Forgets the chunk in progress (for reuse after `cuts`). */
  reset(): void {
    this.#pending = [];
    this.#pendingLength = 0;
    this.#hash = 0;
  }

  /** Ends the input: returns the last chunk, or undefined when no bytes are pending. */
  finish(): Uint8Array | undefined {
    if (this.#pendingLength === 0) return undefined;
    const last = this.#joinPending(new Uint8Array(0));
    this.reset();
    return last;
  }

  /** push's chunk: the pending copies followed by `tail`, in one array that owns its buffer; the copies are dropped. */
  #joinPending(tail: Uint8Array): Uint8Array {
    const pending = this.#pending;
    this.#pending = [];
    if (pending.length === 1 && tail.length === 0) return pending[0]!;
    if (pending.length === 0) return copyOf(tail, 0, tail.length);
    let length = tail.length;
    for (const piece of pending) length += piece.length;
    const chunk = allocOwned(length);
    let at = 0;
    for (const piece of pending) {
      chunk.set(piece, at);
      at += piece.length;
    }
    chunk.set(tail, at);
    return chunk;
  }

  /**
   * Searches data[start, end) for the end of the current chunk, of which
   * #pendingLength bytes came before `start`. Returns the index just after the
   * chunk's last byte, or -1 when the chunk continues past `end` (the hash
   * state is then saved for the next call).
   */
  #scan(data: Uint8Array, start: number, end: number): number {
    const gear = this.#gear;
    let h = this.#hash;
    // Chunk offset of data[start]; the chunk offset of data[i] is i + base.
    const base = this.#pendingLength - start;
    let i = start;

    const skipTo = this.#min - base;
    if (i < skipTo) {
      if (skipTo >= end) return -1;
      i = skipTo;
    }

    const normalStop = Math.min(end, this.#avg - base);
    if (i < normalStop) {
      const mask = this.#maskS;
      for (; i < normalStop; i++) {
        h = ((h << 1) + gear[data[i]!]!) | 0;
        if ((h & mask) === 0) return i + 1;
      }
    }

    const maxStop = this.#max - base;
    const largeStop = Math.min(end, maxStop);
    if (i < largeStop) {
      const mask = this.#maskL;
      for (; i < largeStop; i++) {
        h = ((h << 1) + gear[data[i]!]!) | 0;
        if ((h & mask) === 0) return i + 1;
      }
    }
    if (i >= maxStop) return maxStop;
    this.#hash = h;
    return -1;
  }
}

/** Checks chunker parameters; throws E_UNSUPPORTED_FORMAT naming the bad one. */
export function validateChunkerParams(params: ChunkerParams): ChunkerParams {
  const { algorithm, minSize, avgSize, maxSize, normalization, gearKey } = params;
  const bad = (what: string): never => {
    throw new EbmError('E_UNSUPPORTED_FORMAT', `unsupported chunker parameters: ${what}`, { subject: 'chunker' });
  };
  if (algorithm !== 'fastcdc-gear32-v1') bad(`algorithm ${JSON.stringify(algorithm)} (this ebm knows 'fastcdc-gear32-v1')`);
  for (const [name, v] of [['minSize', minSize], ['avgSize', avgSize], ['maxSize', maxSize]] as const) {
    if (!Number.isSafeInteger(v) || v < 64 || v > 2 ** 30) bad(`${name} ${v} must be an integer between 64 and 2^30`);
  }
  if (!(minSize < avgSize && avgSize < maxSize)) bad(`sizes must satisfy minSize < avgSize < maxSize (got ${minSize}, ${avgSize}, ${maxSize})`);
  if (!Number.isInteger(Math.log2(avgSize))) bad(`avgSize ${avgSize} must be a power of two`);
  const bits = Math.log2(avgSize);
  if (!Number.isInteger(normalization) || normalization < 0 || bits - normalization < 1 || bits + normalization > 31) {
    bad(`normalization ${normalization} must be an integer with 1 <= log2(avgSize) ± normalization <= 31`);
  }
  if (!(gearKey instanceof Uint8Array) || gearKey.length < 16) bad('gearKey must be at least 16 bytes');
  return params;
}

/** A 32-bit mask with the top `bits` bits set, as a signed 32-bit integer. */
function topBits(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

/** A Uint8Array that exclusively owns an ArrayBuffer of exactly `length` bytes (never from Buffer's pool). */
function allocOwned(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

function copyOf(data: Uint8Array, from: number, to: number): Uint8Array {
  const out = allocOwned(to - from);
  out.set(data.subarray(from, to));
  return out;
}

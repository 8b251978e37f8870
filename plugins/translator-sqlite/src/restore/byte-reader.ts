/**
 * Reads exact byte counts from a stream of buffers (an entry's content as
 * `readContent` yields it, one piece per blob), without copying when a piece
 * holds the whole request.
 */
export class ByteReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #head: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or undefined when the stream ends first (the bytes read so far are lost). */
  async read(n: number): Promise<Buffer | undefined> {
    if (this.#head.length >= n) return this.#take(n);
    const parts: Buffer[] = [this.#head];
    let have = this.#head.length;
    while (have < n) {
      const piece = await this.#next();
      if (piece === undefined) return undefined;
      parts.push(piece);
      have += piece.length;
    }
    this.#head = parts.length === 2 && parts[0]!.length === 0 ? parts[1]! : Buffer.concat(parts, have);
    return this.#take(n);
  }

  /** True when no byte is left (reads the end of the stream, so its own checks run). */
  async atEnd(): Promise<boolean> {
    if (this.#head.length > 0) return false;
    const piece = await this.#next();
    if (piece === undefined) return true;
    this.#head = piece;
    return false;
  }

  /** Stops the source early (e.g. after an error), so it stops loading. */
  async close(): Promise<void> {
    if (!this.#done) await this.#source.return?.();
    this.#done = true;
  }

  #take(n: number): Buffer {
    const out = this.#head.subarray(0, n);
    this.#head = this.#head.subarray(n);
    return out;
  }

  async #next(): Promise<Buffer | undefined> {
    while (!this.#done) {
      const r = await this.#source.next();
      if (r.done === true) {
        this.#done = true;
        return undefined;
      }
      if (r.value.length > 0) return Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
    return undefined;
  }
}

import { createHash } from 'node:crypto';

/** Bytes at each end of an append-only stream whose hashes the next backup checks. */
export const CHECK_WINDOW = 64 * 1024;

/**
 * Keeps the first and the last `window` bytes that flow through it, so an
 * append-only backup can record the hashes its successor compares against
 * the file (see append-only.ts) without reading anything twice. Memory: at
 * most about 2·window plus one read.
 */
export class EdgeWindows {
  readonly window: number;
  #head: Buffer[] = [];
  #headLength = 0;
  #tail: Buffer[] = [];
  #tailLength = 0;

  constructor(window = CHECK_WINDOW) {
    this.window = window;
  }

  /** Primes with the bytes a resumed stream already holds: its first and last bytes, as the check read them. */
  prime(head: Uint8Array, tail: Uint8Array): void {
    this.push(head.subarray(0, Math.min(head.length, this.window)), 'head');
    this.push(tail, 'tail');
  }

  push(data: Uint8Array, only?: 'head' | 'tail'): void {
    if (only !== 'tail' && this.#headLength < this.window) {
      const take = data.subarray(0, this.window - this.#headLength);
      this.#head.push(Buffer.from(take));
      this.#headLength += take.length;
    }
    if (only === 'head') return;
    const keep = data.subarray(Math.max(0, data.length - this.window));
    this.#tail.push(Buffer.from(keep));
    this.#tailLength += keep.length;
    while (this.#tailLength - this.#tail[0]!.length >= this.window) this.#tailLength -= this.#tail.shift()!.length;
  }

  headSha256(): string {
    return sha256(Buffer.concat(this.#head));
  }

  tailSha256(): string {
    const all = Buffer.concat(this.#tail);
    return sha256(all.subarray(Math.max(0, all.length - this.window)));
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

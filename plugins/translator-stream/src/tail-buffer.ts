/** Bounded text about child processes (producers and consumers): the tail of their standard error, their argv. */

/**
 * Keeps the last `limit` bytes pushed into it (a child's standard error):
 * enough to say why a producer or consumer failed, bounded whatever it prints.
 */
export class TailBuffer {
  readonly #limit: number;
  #pieces: Buffer[] = [];
  #length = 0;
  #dropped = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(data: Uint8Array): void {
    const piece = Buffer.from(data.subarray(Math.max(0, data.length - this.#limit)));
    this.#pieces.push(piece);
    this.#length += piece.length;
    if (piece.length < data.length) this.#dropped = true;
    while (this.#length - this.#pieces[0]!.length >= this.#limit) {
      this.#length -= this.#pieces.shift()!.length;
      this.#dropped = true;
    }
  }

  /** The kept bytes as text (invalid UTF-8 replaced), with '…' in front when earlier output was dropped. */
  text(): string {
    const all = Buffer.concat(this.#pieces);
    const kept = all.subarray(Math.max(0, all.length - this.#limit)).toString('utf8');
    return this.#dropped || all.length > this.#limit ? `…${kept}` : kept;
  }
}

/** A child's argv for messages: each word JSON-quoted when it has spaces or quotes. */
export function describeArgv(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');
}

/** The end of a child's standard error, for an error message. */
export function stderrNote(tail: string): string {
  const trimmed = tail.trim();
  return trimmed === '' ? ' (its standard error was empty)' : `; the end of its standard error:\n${trimmed}`;
}

import { EbmError, JsonValue } from '@ebm/sdk';

/** A header line longer than this is refused (a stream that is not framed would otherwise be buffered whole). */
export const MAX_HEADER_BYTES = 64 * 1024;

export type FrameEvent =
  /** A segment begins; `raw` is its header line including the newline. */
  | { readonly t: 'start'; readonly index: number; readonly header: { readonly [key: string]: JsonValue }; readonly raw: Uint8Array }
  /** Payload bytes of the current segment (a view into the pushed data: use before the next push). */
  | { readonly t: 'data'; readonly bytes: Uint8Array }
  | { readonly t: 'end'; readonly index: number };

/**
 * Parses framing 'jsonl-segments': the stream is a sequence of segments, each
 *
 *     <header: one line of JSON, an object with "length": N (integer >= 0)>\n
 *     <exactly N payload bytes>
 *
 * and nothing else (the next header follows the payload directly). Other
 * header fields are the producer's own metadata and are stored with the
 * segment; "start" and "end" (numbers, or RFC 3339 times) let a restore pick
 * a time range. Push-based, so any split of the input gives the same events.
 */
export class SegmentParser {
  #index: number;
  /** Bytes of the header line gathered so far (while between segments). */
  #header: Uint8Array[] = [];
  #headerLength = 0;
  /** Payload bytes still expected of the current segment; -1 between segments. */
  #remaining = -1;
  #offset = 0;

  /** `firstIndex`: the number of the first segment (an append-only stream continues its predecessor's count). */
  constructor(firstIndex = 0) {
    this.#index = firstIndex;
  }

  /** Segments started so far, counting from 0 (including those before `firstIndex`). */
  get segments(): number {
    return this.#index;
  }

  push(data: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let at = 0;
    while (at < data.length) {
      if (this.#remaining < 0) {
        const newline = data.indexOf(0x0a, at);
        const end = newline < 0 ? data.length : newline + 1;
        this.#header.push(data.slice(at, end)); // a copy: the caller may reuse `data`
        this.#headerLength += end - at;
        if (this.#headerLength > MAX_HEADER_BYTES) {
          throw this.#error(`segment ${this.#index} has no header line within ${MAX_HEADER_BYTES} bytes (is the stream really framed as jsonl-segments?)`);
        }
        this.#offset += end - at;
        at = end;
        if (newline >= 0) events.push(...this.#startSegment());
        continue;
      }
      const take = Math.min(this.#remaining, data.length - at);
      events.push({ t: 'data', bytes: data.subarray(at, at + take) });
      this.#remaining -= take;
      this.#offset += take;
      at += take;
      if (this.#remaining === 0) events.push(this.#endSegment());
    }
    return events;
  }

  /** The stream ended: it must end between segments. */
  finish(): void {
    if (this.#headerLength > 0) throw this.#error(`the stream ended inside the header line of segment ${this.#index}`);
    if (this.#remaining > 0) throw this.#error(`the stream ended inside segment ${this.#index - 1}: ${this.#remaining} payload bytes are missing`);
  }

  #startSegment(): FrameEvent[] {
    const raw = concat(this.#header, this.#headerLength);
    this.#header = [];
    this.#headerLength = 0;
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      header = undefined;
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw this.#error(`the header line of segment ${this.#index} is not a JSON object`);
    }
    const length = (header as { length?: unknown }).length;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw this.#error(`the header of segment ${this.#index} has no "length" (a non-negative integer of payload bytes)`);
    }
    const start: FrameEvent = { t: 'start', index: this.#index++, header: header as { [key: string]: JsonValue }, raw };
    this.#remaining = length;
    return length === 0 ? [start, this.#endSegment()] : [start];
  }

  #endSegment(): FrameEvent {
    this.#remaining = -1;
    return { t: 'end', index: this.#index - 1 };
  }

  #error(problem: string): EbmError {
    return new EbmError('E_INVALID_SOURCE', `framing jsonl-segments: ${problem} (at stream byte ${this.#offset})`, { op: 'backup' });
  }
}

function concat(pieces: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

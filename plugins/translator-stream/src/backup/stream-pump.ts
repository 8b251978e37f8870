import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { BackupContext, throwIfCancelled } from '@ebm/sdk';
import type { EdgeWindows } from './edge-windows';
import { SegmentParser } from './framing';
import type { PieceCutter } from './piece-cutter';
import type { RecordWriter } from './record-writer';

/** The whole-stream hash: node:crypto, or the resumable one for append-only streams. */
export interface StreamHash {
  update(data: Uint8Array): unknown;
}

/**
 * Moves the stream's bytes into the repository: whole-stream hash, optional
 * framing, the piece cutter, the record writer. Each `push` returns once its
 * bytes are chunked and queued, so the caller reads the next buffer only
 * then: the source is read at the pace the repository accepts (the SDK's
 * window holds at most a few MiB in flight).
 */
export class StreamPump {
  readonly #ctx: BackupContext;
  readonly #records: RecordWriter;
  readonly #cutter: PieceCutter;
  readonly #hash: StreamHash;
  readonly #windows: EdgeWindows | undefined;
  readonly #parser: SegmentParser | undefined;
  #segmentHash: Hash | undefined;
  #bytes = 0;

  constructor(ctx: BackupContext, records: RecordWriter, cutter: PieceCutter, hash: StreamHash, options: { framed: boolean; firstSegment: number; windows?: EdgeWindows }) {
    this.#ctx = ctx;
    this.#records = records;
    this.#cutter = cutter;
    this.#hash = hash;
    this.#windows = options.windows;
    this.#parser = options.framed ? new SegmentParser(options.firstSegment) : undefined;
  }

  /** Bytes pushed (this backup's new bytes). */
  get bytes(): number {
    return this.#bytes;
  }

  get segments(): number | undefined {
    return this.#parser?.segments;
  }

  async push(data: Uint8Array): Promise<void> {
    throwIfCancelled(this.#ctx.signal, 'backup');
    this.#hash.update(data);
    this.#windows?.push(data);
    this.#bytes += data.length;
    if (this.#parser === undefined) {
      await this.#feed(data);
    } else {
      for (const event of this.#parser.push(data)) {
        if (event.t === 'start') {
          this.#records.startSegment(event.index, event.header, event.raw.length);
          this.#segmentHash = createHash('sha256');
          await this.#feed(event.raw);
        } else if (event.t === 'data') {
          await this.#feed(event.bytes);
        } else {
          await this.#cut();
          await this.#records.endSegment(this.#segmentHash!.digest('hex'));
          this.#segmentHash = undefined;
        }
      }
    }
    this.#ctx.progress.update({ bytes: this.#bytes, files: this.#records.count });
  }

  /** The stream ended: stores the last piece and closes the last record (E_INVALID_SOURCE inside a segment). */
  async end(): Promise<void> {
    if (this.#parser !== undefined) {
      this.#parser.finish();
      return;
    }
    await this.#cut();
    await this.#records.finish();
  }

  async #feed(data: Uint8Array): Promise<void> {
    this.#segmentHash?.update(data);
    for (const piece of this.#cutter.push(data)) await this.#records.addPiece(piece);
  }

  async #cut(): Promise<void> {
    const last = this.#cutter.finish();
    if (last !== undefined) await this.#records.addPiece(last);
  }
}

export function cryptoSha256(): Hash {
  return createHash('sha256');
}

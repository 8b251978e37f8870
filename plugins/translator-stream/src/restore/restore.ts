import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { EbmError, JsonValue, RestoreContext, RestoreOutcome, TreeEntry, throwIfCancelled } from '@ebm/sdk';
import { INFO_PATH, RECORDS_DIR, StreamInfo, isRecordPath, parseStreamInfo, recordMetaOf } from '../layout';
import { parseRestoreOptions } from '../options';
import { commandSink } from './command-sink';
import { Selection, parseSelection } from './selection';
import { Sink, fileSink, stdoutSink } from './sinks';

/**
 * Restores a stream to standard output (--to-stdout), into a command's
 * standard input (--to-command -- argv…), or as the file <name> under the
 * target. The whole stream's SHA-256 (or, for a segment selection, each
 * selected segment's) is checked against the snapshot; on a mismatch the
 * restore fails loudly with E_CORRUPT_OBJECT and the sink is aborted (the
 * file is removed, the command killed before its input ends).
 */
export async function restoreStream(ctx: RestoreContext): Promise<RestoreOutcome> {
  const options = parseRestoreOptions(ctx.options);
  const info = parseStreamInfo(ctx.snapshot.meta?.stream, `the metadata of snapshot ${ctx.snapshot.id}`);
  const selection = parseSelection(options.segments, options.timeRange);
  if (selection !== undefined && info.framing !== 'jsonl-segments') {
    throw new EbmError('E_USAGE', `${selection.describe}: stream ${JSON.stringify(info.name)} of snapshot ${ctx.snapshot.id} is not framed (it was backed up without --framing jsonl-segments)`);
  }
  if (options.payloadOnly && info.framing !== 'jsonl-segments') throw new EbmError('E_USAGE', '--payload-only applies to framed streams only');
  const sink: Sink = options.toCommand ? commandSink(options.toCommand) : options.toStdout ? stdoutSink() : fileSink(ctx.target, info.name, ctx.overwrite);
  const copy = new StreamCopy(ctx, info, sink, selection, options.payloadOnly);
  // A consumer may stop reading for minutes (psql building an index): keep the host's stall clock from firing meanwhile.
  const heartbeat = setInterval(() => copy.reportProgress(), HEARTBEAT_MS);
  try {
    for await (const { path, entry } of ctx.entries()) {
      throwIfCancelled(ctx.signal, 'restore');
      if (path === INFO_PATH) copy.checkInfo(entry);
      else if (path === RECORDS_DIR) copy.recordsSelected();
      else if (isRecordPath(path)) await copy.record(path, entry);
    }
    const outcome = copy.finish();
    // --include info alone selects none of the stream's bytes: write nothing rather than an empty file that looks restored.
    if (copy.nothingSelected) await sink.abort();
    else await sink.commit();
    return { meta: outcome };
  } catch (err) {
    await sink.abort().catch(() => undefined);
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}

/** How often a progress message is sent even when nothing moves. */
const HEARTBEAT_MS = 10_000;

/** The state of one restore: what was written, and the hashes being checked. */
class StreamCopy {
  readonly #whole: Hash = createHash('sha256');
  #segmentHash: Hash | undefined;
  #expectedOffset = 0;
  #contiguous = true;
  #records = 0;
  #segments = 0;
  #written = 0;
  #recordsDir = false;

  constructor(
    private readonly ctx: RestoreContext,
    private readonly info: StreamInfo,
    private readonly sink: Sink,
    private readonly selection: Selection | undefined,
    private readonly payloadOnly: boolean,
  ) {}

  reportProgress(): void {
    this.ctx.progress.update({ bytes: this.#written, files: this.#records });
  }

  /** The tree's own description must agree with the snapshot's. */
  checkInfo(entry: TreeEntry): void {
    const inTree = parseStreamInfo(entry.meta?.stream, `the info entry of snapshot ${this.ctx.snapshot.id}`);
    if (inTree.sha256 !== this.info.sha256 || inTree.bytes !== this.info.bytes) {
      throw new EbmError('E_CORRUPT_OBJECT', `snapshot ${this.ctx.snapshot.id}: its metadata and its tree describe different streams (sha256 ${this.info.sha256.slice(0, 12)}… vs ${inTree.sha256.slice(0, 12)}…)`, { subject: INFO_PATH });
    }
  }

  /** The records directory was yielded: the operator's includes (if any) reach into the stream's bytes. */
  recordsSelected(): void {
    this.#recordsDir = true;
  }

  /** True when the includes left out the records directory (e.g. --include info): no byte of the stream was selected. */
  get nothingSelected(): boolean {
    return !this.#recordsDir && this.#records === 0;
  }

  async record(path: string, entry: TreeEntry): Promise<void> {
    const meta = recordMetaOf(path, entry);
    const segment = meta.segment;
    if (this.selection !== undefined && (segment === undefined || !this.selection.matches(segment))) {
      this.#contiguous = false;
      return;
    }
    if (meta.offset !== this.#expectedOffset) this.#contiguous = false;
    if (segment !== undefined && segment.part === 0) {
      this.#segmentHash = createHash('sha256');
      this.#segments++;
    }
    let skip = this.payloadOnly && segment?.part === 0 ? segment.headerBytes : 0;
    let size = 0;
    for await (const piece of this.ctx.readContent(entry)) {
      throwIfCancelled(this.ctx.signal, 'restore');
      size += piece.length;
      this.#whole.update(piece);
      this.#segmentHash?.update(piece);
      const out = skip > 0 ? piece.subarray(Math.min(skip, piece.length)) : piece;
      skip -= piece.length - out.length;
      if (out.length > 0) await this.sink.write(out);
      this.#written += out.length;
      this.reportProgress();
    }
    if (size !== entry.size) throw new EbmError('E_CORRUPT_OBJECT', `stream record ${path} holds ${size} bytes but its entry says ${entry.size}`, { subject: path });
    this.#records++;
    this.#expectedOffset = meta.offset + size;
    if (segment?.last) {
      const actual = this.#segmentHash?.digest('hex');
      this.#segmentHash = undefined;
      if (actual !== segment.sha256) {
        throw new EbmError('E_CORRUPT_OBJECT', `segment ${segment.index} of stream ${JSON.stringify(this.info.name)}: its SHA-256 is ${actual ?? '(incomplete)'} but the snapshot recorded ${segment.sha256}; restore aborted`, { subject: path });
      }
    }
  }

  /** Verifies the whole stream when all of it was written; returns the outcome's metadata. */
  finish(): { readonly [key: string]: JsonValue } {
    const whole = this.selection === undefined && !this.nothingSelected && this.#contiguous && this.#expectedOffset === this.info.bytes;
    if (this.selection !== undefined && this.#records === 0) {
      throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `${this.selection.describe} matches no segment of stream ${JSON.stringify(this.info.name)} (${this.info.segments ?? 0} segments)`, { op: 'restore' });
    }
    if (whole) {
      const actual = this.#whole.digest('hex');
      if (actual !== this.info.sha256) {
        throw new EbmError('E_CORRUPT_OBJECT', `stream ${JSON.stringify(this.info.name)} of snapshot ${this.ctx.snapshot.id}: the restored bytes hash to ${actual}, the snapshot recorded ${this.info.sha256}; restore aborted, ${this.sink.describe} did not get a verified stream`, { subject: this.info.name });
      }
    } else if (this.selection === undefined && this.nothingSelected) {
      this.ctx.warn({ path: this.info.name, code: 'E_PATH_NOT_IN_SNAPSHOT', message: `the restore's --include selects none of the stream's records (only its description): nothing was written; include records/… or leave --include out` });
    } else if (this.selection === undefined) {
      if (this.#expectedOffset === 0 && this.#records === 0 && this.info.bytes > 0) {
        throw new EbmError('E_CORRUPT_OBJECT', `snapshot ${this.ctx.snapshot.id} holds no records of stream ${JSON.stringify(this.info.name)} (${this.info.bytes} bytes expected)`, { subject: this.info.name });
      }
      this.ctx.warn({ path: this.info.name, code: 'E_PATH_NOT_IN_SNAPSHOT', message: `only part of the stream was restored (--include): its records were verified blob by blob, not against the whole-stream SHA-256` });
    }
    return { name: this.info.name, bytes: this.#written, records: this.#records, ...(this.#segments > 0 ? { segments: this.#segments } : {}), verified: whole ? 'sha256' : this.selection ? 'segment-sha256' : this.nothingSelected ? 'nothing' : 'blobs' };
  }
}

import { EbmError, JsonValue, TreeEntry } from '@ebm/sdk';

/**
 * How a stream lies in a snapshot's tree (format 'stream', version 1):
 *
 *   info                      kind 'stream', size = stream bytes, no content;
 *                             meta = storedInfo(StreamInfo): the stream's facts
 *                             without the run's (times, incremental report);
 *                             the snapshot's meta.stream is the whole StreamInfo
 *   records/                  dir
 *   records/000000/           dir: a group of up to RECORDS_PER_GROUP records
 *   records/000000/00000000   kind 'stream': one record, content = its blobs,
 *                             meta = RecordMeta (its offset in the stream, its segment)
 *
 * The stream is its records' plaintexts concatenated in name order. A record
 * ends at a chunk boundary once it holds RECORD_TARGET_BYTES (or where a
 * segment ends), so no entry holds more than a few hundred blob ids and the
 * tree writer keeps at most one group in memory: a 20 GiB stream costs the
 * same memory as a 20 MiB one. `info` sorts before `records`, so a restore
 * meets it first; it is added last (siblings may come in any order).
 */
export const STREAM_FORMAT = { format: 'stream', version: 1 } as const;
export const INFO_PATH = 'info';
export const RECORDS_DIR = 'records';
export const RECORDS_PER_GROUP = 256;
/** A record closes at the first chunk boundary at or past this many bytes. */
export const RECORD_TARGET_BYTES = 16 * 1024 * 1024;

export function groupPath(group: number): string {
  return `${RECORDS_DIR}/${String(group).padStart(6, '0')}`;
}

export function recordPath(index: number): string {
  return `${groupPath(Math.floor(index / RECORDS_PER_GROUP))}/${String(index).padStart(8, '0')}`;
}

/** Where the stream came from. `argv` only for commands, `path` only for files and pipes. */
export interface SourceInfo {
  readonly kind: 'command' | 'stdin' | 'file' | 'fifo';
  readonly argv?: readonly string[];
  readonly path?: string;
}

/**
 * The producer's fate. 'succeeded': a command that exited 0 without a signal;
 * 'complete': a regular file read to its end; 'unknown': standard input or a
 * named pipe, whose writer's exit status ebm cannot see.
 */
export interface ProducerStatus {
  readonly status: 'succeeded' | 'complete' | 'unknown';
  readonly exitCode?: number;
  readonly signal?: null;
  /** The last bytes the producer wrote to standard error (commands only, when there were any). */
  readonly stderrTail?: string;
}

/** State of an append-only source that lets the next backup read only what was appended. */
export interface AppendState {
  /** SHA-256 of the first min(CHECK_WINDOW, bytes) bytes. */
  readonly headSha256: string;
  /** SHA-256 of the last min(CHECK_WINDOW, bytes) bytes. */
  readonly tailSha256: string;
  readonly window: number;
  /** The whole-stream SHA-256 state after `bytes` bytes (see resumable-sha256.ts). */
  readonly hashState: string;
}

export interface IncrementalInfo {
  readonly mode: 'append-only';
  /** True when every byte was read (first backup, or the previous content changed). */
  readonly baseline: boolean;
  /** Why a baseline was taken. */
  readonly reason?: string;
  readonly previousSnapshot?: string;
  readonly reusedBytes: number;
  readonly newBytes: number;
}

export interface StreamInfo {
  readonly name: string;
  readonly contentType?: string;
  readonly source: SourceInfo;
  readonly producer: ProducerStatus;
  readonly bytes: number;
  /** SHA-256 (hex) of the whole stream. */
  readonly sha256: string;
  /** ISO 8601 times: when reading began and when the producer's end was seen. */
  readonly startTime: string;
  readonly endTime: string;
  readonly framing: 'none' | 'jsonl-segments';
  readonly records: number;
  readonly segments?: number;
  /** The stream's own content-defined chunking (see piece-cutter.ts). */
  readonly chunking: { readonly avgSize: number; readonly minSize: number; readonly maxSize: number };
  readonly incremental?: IncrementalInfo;
  readonly append?: AppendState;
}

/** A segment's part of a record (a segment longer than a record spans several). */
export interface SegmentPart {
  readonly index: number;
  /** 0 for the record that starts with the header line. */
  readonly part: number;
  /** The parsed header line (on every part, so any part can be selected on its own). */
  readonly header: { readonly [key: string]: JsonValue };
  /** Bytes of the header line including its newline (the record's first bytes on part 0). */
  readonly headerBytes: number;
  /** True on the segment's last part, which carries its SHA-256 (header line + payload). */
  readonly last: boolean;
  readonly sha256?: string;
}

export interface RecordMeta {
  /** Offset of the record's first byte in the stream. */
  readonly offset: number;
  readonly segment?: SegmentPart;
}

/**
 * The StreamInfo kept in the tree's `info` entry: what the stream is, not how
 * this run went. Times and the incremental report (baseline or not, the
 * parent's id) differ from run to run; in the tree they would give two
 * backups of the same stream different trees, and an incremental backup of
 * an unchanged file a different tree than a full one. They stay in the
 * snapshot's meta. Everything a later backup or a restore reads from the
 * tree (name, bytes, sha256, records, segments, framing, append state) is kept.
 */
export function storedInfo(info: StreamInfo): Omit<StreamInfo, 'startTime' | 'endTime' | 'incremental'> {
  const { startTime: _start, endTime: _end, incremental: _incremental, ...stored } = info;
  return stored;
}

/** Reads a StreamInfo out of untrusted JSON (snapshot meta or the info entry); E_CORRUPT_OBJECT if malformed. */
export function parseStreamInfo(value: JsonValue | undefined, where: string): StreamInfo {
  const v = value as Partial<StreamInfo> | undefined;
  const ok =
    typeof v === 'object' && v !== null &&
    typeof v.name === 'string' && Number.isSafeInteger(v.bytes) && typeof v.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(v.sha256) && Number.isSafeInteger(v.records);
  if (!ok) throw new EbmError('E_CORRUPT_OBJECT', `${where} holds no valid stream description (name, bytes, sha256, records)`, { subject: where });
  return v as StreamInfo;
}

/** A record's meta, checked; E_CORRUPT_OBJECT naming the record otherwise. */
export function recordMetaOf(path: string, entry: TreeEntry): RecordMeta {
  const meta = entry.meta as Partial<RecordMeta> | undefined;
  if (typeof meta !== 'object' || meta === null || !Number.isSafeInteger(meta.offset)) {
    throw new EbmError('E_CORRUPT_OBJECT', `stream record ${path} has no offset in its metadata`, { subject: path });
  }
  return meta as RecordMeta;
}

/** True for a record path: records/<6 digits>/<8 digits>. */
export function isRecordPath(path: string): boolean {
  return /^records\/\d{6}\/\d{8}$/.test(path);
}

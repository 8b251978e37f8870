import type { FileHandle } from 'node:fs/promises';
import { BackupContext, EbmError, TreeEntry } from '@ebm/sdk';
import { ResumableSha256 } from '../hash/resumable-sha256';
import { INFO_PATH, IncrementalInfo, StreamInfo, parseStreamInfo, recordPath } from '../layout';
import { CHECK_WINDOW, EdgeWindows, sha256 } from './edge-windows';
import { readRange } from './read-fd';

/** Where an append-only backup starts, and what it carries over from its parent. */
export interface AppendPlan {
  /** File offset of the first byte to read (the previous snapshot's end, or 0 for a baseline). */
  readonly start: number;
  /** The parent's records to re-add, in order (none for a baseline). */
  readonly reuse: number;
  readonly previous?: { readonly id: string; readonly info: StreamInfo };
  readonly hash: ResumableSha256;
  readonly windows: EdgeWindows;
  readonly firstSegment: number;
  /** Incremental info without the byte counts (known at the end). */
  readonly incremental: Omit<IncrementalInfo, 'reusedBytes' | 'newBytes'>;
}

/**
 * Decides whether an append-only file can continue its parent snapshot:
 * the parent must be an append-only snapshot of a stream of the same name
 * and framing, the file at least as long as the parent's stream, and the
 * first and last CHECK_WINDOW bytes of the parent's stream (by SHA-256) still
 * where they were. Then only the bytes after the parent's end are read;
 * otherwise (rotation, truncation, a rewrite) the whole file is read as a new
 * baseline and the snapshot records why.
 */
export async function planAppend(ctx: BackupContext, handle: FileHandle, size: number, name: string, framing: StreamInfo['framing']): Promise<AppendPlan> {
  const baseline = (reason: string, previousId?: string): AppendPlan => ({
    start: 0,
    reuse: 0,
    hash: new ResumableSha256(),
    windows: new EdgeWindows(),
    firstSegment: 0,
    incremental: { mode: 'append-only', baseline: true, reason, ...(previousId ? { previousSnapshot: previousId } : {}) },
  });
  const previous = ctx.previous;
  if (previous === undefined) return baseline('no previous snapshot of this dataset (or --full)');
  const infoEntry: TreeEntry | undefined = await previous.lookup(INFO_PATH);
  if (infoEntry === undefined) return baseline('the previous snapshot holds no stream', previous.id);
  const info = parseStreamInfo(infoEntry.meta?.stream, `the info entry of snapshot ${previous.id}`);
  if (info.append === undefined || info.append.window !== CHECK_WINDOW) return baseline('the previous snapshot was not taken with --append-only', previous.id);
  if (info.name !== name) return baseline(`the stream's name changed (${JSON.stringify(info.name)} before, ${JSON.stringify(name)} now)`, previous.id);
  if (info.framing !== framing) return baseline(`the framing changed (${info.framing} before, ${framing} now)`, previous.id);
  if (size < info.bytes) {
    return baseline(`the file is shorter (${size} bytes) than the stream of the previous snapshot (${info.bytes} bytes): truncated or rotated`, previous.id);
  }
  const head = await readRange(handle, 0, Math.min(CHECK_WINDOW, info.bytes));
  if (sha256(head) !== info.append.headSha256) {
    return baseline(`the first ${head.length} bytes differ from the previous snapshot's: the file was rotated or rewritten`, previous.id);
  }
  const tailStart = Math.max(0, info.bytes - CHECK_WINDOW);
  const tail = await readRange(handle, tailStart, info.bytes - tailStart);
  if (sha256(tail) !== info.append.tailSha256) {
    return baseline(`the bytes before the previous snapshot's end (offset ${info.bytes}) differ from what it stored: the file was rewritten`, previous.id);
  }
  let hash: ResumableSha256;
  try {
    hash = ResumableSha256.fromState(info.append.hashState);
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `snapshot ${previous.id} holds a malformed hash state for its stream`, { subject: INFO_PATH });
  }
  if (hash.bytes !== info.bytes) throw new EbmError('E_CORRUPT_OBJECT', `snapshot ${previous.id}'s hash state covers ${hash.bytes} bytes, its stream ${info.bytes}`, { subject: INFO_PATH });
  const windows = new EdgeWindows();
  windows.prime(head, tail);
  return {
    start: info.bytes,
    reuse: info.records,
    previous: { id: previous.id, info },
    hash,
    windows,
    firstSegment: info.segments ?? 0,
    incremental: { mode: 'append-only', baseline: false, previousSnapshot: previous.id },
  };
}

/** The parent's record `index`, to re-add as it is. */
export async function previousRecord(ctx: BackupContext, index: number): Promise<TreeEntry> {
  const entry = await ctx.previous!.lookup(recordPath(index));
  if (entry === undefined || entry.kind !== 'stream') {
    throw new EbmError('E_CORRUPT_OBJECT', `record ${recordPath(index)} is missing from snapshot ${ctx.previous!.id}`, { subject: recordPath(index) });
  }
  return entry;
}

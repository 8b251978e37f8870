import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { BlobId, TreeWriter, throwIfCancelled } from '@ebm/sdk';
import { BlockRecord, blockLength } from './block-map';

/** The parent's stored blocks of the same file, by block index. */
export interface PreviousBlocks {
  readonly blockSize: number;
  readonly size: number;
  get(index: number): { readonly hash: Buffer; readonly ids: readonly BlobId[] } | undefined;
}

export interface PassRequest {
  readonly handle: FileHandle;
  readonly size: number;
  readonly blockSize: number;
  /** Ascending indices of the blocks that may hold data; every other block is a hole and is not read. */
  readonly blocks: Iterable<number>;
  readonly previous: PreviousBlocks | undefined;
  /**
   * From a trusted change journal or dirty-block source: true when block
   * `index` is known unchanged since the parent, so its parent record (or
   * hole) is taken without reading it. Only given with a usable parent.
   */
  readonly unchanged?: (index: number) => boolean;
  readonly tree: TreeWriter;
  readonly signal: AbortSignal;
}

export interface PassCounters {
  /** Bytes read from the file in this pass (holes skipped via extents are not read). */
  bytesRead: number;
  blocksRead: number;
  /** Blocks written through writeContent (new or changed). */
  blocksStored: number;
  /** Blocks whose hash equalled the parent's: its blob ids were reused. */
  blocksReused: number;
  /** Blocks taken from the parent without reading, on the word of a trusted change source. */
  blocksTrusted: number;
  /** Blocks read and found all zeros (stored as holes). */
  zeroBlocks: number;
}

export interface PassResult {
  readonly records: BlockRecord[];
  readonly content: BlobId[];
  /** Blocks stored in this pass, for the re-check. */
  readonly stored: { readonly index: number; readonly hash: Buffer }[];
  /** The file returned fewer bytes than its size said: it shrank during the read. */
  readonly shrank: boolean;
  readonly counters: PassCounters;
}

/** Reused blocks are not awaited on; give the event loop a turn (host replies, cancel) this often. */
const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * One read of the image: every candidate block is read (one read ahead, so
 * reading overlaps hashing and chunking), dropped when all zeros, hashed
 * (SHA-256), and either matched to the parent's record of the same index
 * (its blob ids reused: nothing is chunked, compressed, encrypted or
 * shipped) or written with `tree.writeContent` as a source of its own, so a
 * block's blobs never span two blocks and a changed block changes only its
 * own blobs.
 */
export async function readPass(req: PassRequest): Promise<PassResult> {
  const { handle, size, blockSize, previous, tree, signal } = req;
  const zeros = Buffer.alloc(blockSize);
  const counters: PassCounters = { bytesRead: 0, blocksRead: 0, blocksStored: 0, blocksReused: 0, blocksTrusted: 0, zeroBlocks: 0 };
  const records: BlockRecord[] = [];
  const content: BlobId[] = [];
  const stored: { index: number; hash: Buffer }[] = [];
  let shrank = false;
  let sinceYield = 0;

  // Blocks a trusted change source vouches for are taken from the parent unread; the others are read in order.
  const trusted = { records: [] as BlockRecord[], content: [] as BlobId[] };
  const candidates = req.blocks[Symbol.iterator]();
  const nextToRead = (): number | undefined => {
    for (;;) {
      const item = candidates.next();
      if (item.done === true) return undefined;
      const index = item.value;
      if (req.unchanged === undefined || !req.unchanged(index)) return index;
      const old = previous?.get(index);
      if (old !== undefined) {
        trusted.records.push({ index, blobCount: old.ids.length, hash: old.hash });
        trusted.content.push(...old.ids);
      }
      counters.blocksTrusted++;
    }
  };

  const readBlock = async (index: number): Promise<Buffer> => {
    const length = blockLength(index, size, blockSize);
    const buffer = Buffer.allocUnsafeSlow(length); // a dedicated ArrayBuffer: writeContent may transfer it
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, index * blockSize + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    counters.bytesRead += filled;
    counters.blocksRead++;
    if (filled < length) {
      shrank = true;
      buffer.fill(0, filled);
    }
    return buffer;
  };

  let index = nextToRead();
  let next: Promise<Buffer> | undefined = index !== undefined ? readBlock(index) : undefined;
  try {
    while (index !== undefined) {
      throwIfCancelled(signal, 'backup');
      const block: Buffer = await next!;
      const following = nextToRead();
      next = following !== undefined ? readBlock(following) : undefined;
      const current = index;
      index = following;
      if (block.equals(zeros.subarray(0, block.length))) {
        counters.zeroBlocks++;
        continue;
      }
      const hash = createHash('sha256').update(block).digest();
      const old = previous?.get(current);
      if (old !== undefined && old.hash.equals(hash)) {
        records.push({ index: current, blobCount: old.ids.length, hash });
        content.push(...old.ids);
        counters.blocksReused++;
        sinceYield += block.length;
        if (sinceYield >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        continue;
      }
      const written = await tree.writeContent([block]); // `block` may be transferred from here on: not touched again
      records.push({ index: current, blobCount: written.content.length, hash });
      content.push(...written.content);
      stored.push({ index: current, hash });
      counters.blocksStored++;
    }
  } finally {
    await next?.catch(() => undefined); // an abandoned read must finish before the caller closes the handle
  }
  const merged = trusted.records.length === 0 ? { records, content } : mergeByIndex(trusted, { records, content });
  return { ...merged, stored, shrank, counters };
}

/** Merges two record lists (each ascending) with their content, keeping content in record order. */
function mergeByIndex(a: { records: BlockRecord[]; content: BlobId[] }, b: { records: BlockRecord[]; content: BlobId[] }): { records: BlockRecord[]; content: BlobId[] } {
  const records: BlockRecord[] = [];
  const content: BlobId[] = [];
  let i = 0;
  let j = 0;
  let ai = 0;
  let bj = 0;
  while (i < a.records.length || j < b.records.length) {
    const takeA = j >= b.records.length || (i < a.records.length && a.records[i]!.index < b.records[j]!.index);
    if (takeA) {
      const r = a.records[i++]!;
      records.push(r);
      content.push(...a.content.slice(ai, ai + r.blobCount));
      ai += r.blobCount;
    } else {
      const r = b.records[j++]!;
      records.push(r);
      content.push(...b.content.slice(bj, bj + r.blobCount));
      bj += r.blobCount;
    }
  }
  return { records, content };
}

/**
 * The per-block re-check: reads the blocks this pass stored once more and
 * compares their hashes. A difference means a writer touched them while the
 * pass ran without the file's mtime/ctime showing it yet (e.g. a shared
 * mapping whose timestamps are updated lazily). Returns the bytes read.
 */
export async function recheckStored(handle: FileHandle, size: number, blockSize: number, stored: PassResult['stored'], signal: AbortSignal): Promise<{ same: boolean; bytesRead: number }> {
  let bytesRead = 0;
  const buffer = Buffer.allocUnsafe(blockSize);
  for (const { index, hash } of stored) {
    throwIfCancelled(signal, 'backup');
    const length = blockLength(index, size, blockSize);
    let filled = 0;
    while (filled < length) {
      const { bytesRead: n } = await handle.read(buffer, filled, length - filled, index * blockSize + filled);
      if (n === 0) break;
      filled += n;
    }
    bytesRead += filled;
    if (filled < length || !createHash('sha256').update(buffer.subarray(0, length)).digest().equals(hash)) return { same: false, bytesRead };
  }
  return { same: true, bytesRead };
}

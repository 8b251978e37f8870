import { BlobId, JsonValue, TreeEntry } from '@ebm/sdk';

/**
 * The block map of a `block-image` entry (docs/format.md, "Block images").
 *
 * The entry's `meta` holds
 *   { "format": "ebm-block-image", "version": 1, "blockSize": B, "hash": "sha256",
 *     "map": base64(records), "consistent": true|false }
 * and its `content` holds the data blocks' blob ids, block after block.
 *
 * The file is cut into blocks of B bytes (the last one may be shorter):
 * block i covers bytes [i·B, min((i+1)·B, size)). A block that is all zeros
 * (a hole, or allocated zeros) has no record and no blobs: it is a hole on
 * restore. Every other block has one 40-byte record, in ascending block order:
 *
 *     uint32 LE block index ‖ uint32 LE blob count ‖ SHA-256 of the block (32 bytes)
 *
 * `blob count` says how many ids of `content` hold that block (the
 * repository's chunker may cut a block into more than one blob); the counts
 * sum to the length of `content`, and the blobs' plaintexts, concatenated,
 * are the data blocks concatenated in record order.
 *
 * The hashes are what an incremental compares: a block whose SHA-256 equals
 * the parent's record for the same index reuses the parent's blob ids, and is
 * never chunked, compressed, encrypted or shipped again. They are unkeyed
 * but live inside the (sealed) tree blob, like the content they describe.
 */
export const BLOCK_IMAGE_FORMAT = 'ebm-block-image';
export const BLOCK_IMAGE_VERSION = 1;
export const HASH_BYTES = 32;
const RECORD_BYTES = 8 + HASH_BYTES;

export interface BlockRecord {
  readonly index: number;
  readonly blobCount: number;
  /** SHA-256 of the block's bytes. */
  readonly hash: Buffer;
}

export interface BlockMap {
  readonly blockSize: number;
  /** Logical size of the file. */
  readonly size: number;
  readonly records: readonly BlockRecord[];
  /** False when the file kept changing while it was read (the image may be torn). */
  readonly consistent: boolean;
}

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/** Length of block `index` of a file of `size` bytes. */
export function blockLength(index: number, size: number, blockSize: number): number {
  return Math.min(blockSize, size - index * blockSize);
}

/** The entry fields of a block image (kind, size, content, meta). */
export function blockImageFields(map: BlockMap, content: readonly BlobId[]): Pick<TreeEntry, 'kind' | 'size' | 'content' | 'meta'> {
  const records = Buffer.allocUnsafe(map.records.length * RECORD_BYTES);
  map.records.forEach((r, i) => {
    const at = i * RECORD_BYTES;
    records.writeUInt32LE(r.index, at);
    records.writeUInt32LE(r.blobCount, at + 4);
    r.hash.copy(records, at + 8);
  });
  const meta: Record<string, JsonValue> = {
    format: BLOCK_IMAGE_FORMAT,
    version: BLOCK_IMAGE_VERSION,
    blockSize: map.blockSize,
    hash: 'sha256',
    map: records.toString('base64'),
    consistent: map.consistent,
  };
  return { kind: 'block-image', size: map.size, content, meta };
}

/**
 * Reads and checks the block map of a `block-image` entry. Returns a string
 * saying what is wrong when the entry is not a block image this code can read
 * (another format version, a malformed or inconsistent map).
 */
export function readBlockMap(entry: TreeEntry): BlockMap | string {
  if (entry.kind !== 'block-image') return `it is a ${entry.kind} entry, not a block image`;
  const meta = entry.meta ?? {};
  if (meta['format'] !== BLOCK_IMAGE_FORMAT) return `its format is ${JSON.stringify(meta['format'])}, not ${BLOCK_IMAGE_FORMAT}`;
  if (meta['version'] !== BLOCK_IMAGE_VERSION) return `its block-image version ${JSON.stringify(meta['version'])} is not ${BLOCK_IMAGE_VERSION} (restore with a newer ebm)`;
  if (meta['hash'] !== 'sha256') return `its block hash ${JSON.stringify(meta['hash'])} is unknown`;
  const blockSize = meta['blockSize'];
  const size = entry.size;
  if (typeof blockSize !== 'number' || !Number.isSafeInteger(blockSize) || blockSize <= 0) return 'its block size is missing or invalid';
  if (typeof size !== 'number') return 'its size is missing';
  if (typeof meta['map'] !== 'string') return 'its block map is missing';
  const bytes = Buffer.from(meta['map'], 'base64');
  if (bytes.length % RECORD_BYTES !== 0) return `its block map has ${bytes.length} bytes, not a multiple of ${RECORD_BYTES}`;
  const blocks = blockCount(size, blockSize);
  const records: BlockRecord[] = [];
  let blobs = 0;
  for (let at = 0; at < bytes.length; at += RECORD_BYTES) {
    const index = bytes.readUInt32LE(at);
    const blobCount = bytes.readUInt32LE(at + 4);
    const previous = records[records.length - 1];
    if (index >= blocks) return `its block map names block ${index} of a file of ${blocks} blocks`;
    if (previous !== undefined && index <= previous.index) return 'its block map is not in ascending block order';
    if (blobCount === 0) return `its block map gives block ${index} no blobs`;
    records.push({ index, blobCount, hash: bytes.subarray(at + 8, at + RECORD_BYTES) });
    blobs += blobCount;
  }
  const content = entry.content ?? [];
  if (blobs !== content.length) return `its block map names ${blobs} blobs but the entry has ${content.length}`;
  return { blockSize, size, records, consistent: meta['consistent'] !== false };
}

/** Total bytes of the data blocks (what the entry's content holds). */
export function dataBytes(map: BlockMap): number {
  return map.records.reduce((sum, r) => sum + blockLength(r.index, map.size, map.blockSize), 0);
}

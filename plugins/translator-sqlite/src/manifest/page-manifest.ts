/**
 * The page-hash manifest: the content of the `<name>.ebm-page-hashes` entry.
 * With it an incremental decides which runs changed, and which stored blobs
 * to reuse for the others, without reading any stored page.
 *
 * Layout (all integers uint32 little-endian), one record per run, in run order:
 *
 *     record = blobCount ‖ sha256(page₁) ‖ … ‖ sha256(pageₖ)
 *
 * where run i covers pages i·runPages+1 … min((i+1)·runPages, pageCount), so
 * k = runPages except perhaps for the last run; pageCount and runPages are in
 * the entry's meta. `blobCount` is how many ids of the database entry's
 * `content` hold this run (the repository's chunker may cut a run into more
 * than one blob); the counts sum to the length of that content list.
 */
export const HASH_BYTES = 32;
const COUNT_BYTES = 4;

export interface RunRecord {
  readonly blobCount: number;
  /** The run's page hashes, HASH_BYTES each, concatenated. */
  readonly hashes: Buffer;
}

export function runCount(pageCount: number, runPages: number): number {
  return Math.ceil(pageCount / runPages);
}

export function pagesInRun(index: number, pageCount: number, runPages: number): number {
  return Math.min(runPages, pageCount - index * runPages);
}

export function encodeRecord(record: RunRecord): Buffer {
  const out = Buffer.allocUnsafe(COUNT_BYTES + record.hashes.length);
  out.writeUInt32LE(record.blobCount, 0);
  record.hashes.copy(out, COUNT_BYTES);
  return out;
}

/** Decodes a manifest; throws an Error saying what does not fit the layout. */
export function decodeManifest(bytes: Buffer, pageCount: number, runPages: number): RunRecord[] {
  const runs = runCount(pageCount, runPages);
  const expected = runs * COUNT_BYTES + pageCount * HASH_BYTES;
  if (bytes.length !== expected) {
    throw new Error(`the page-hash manifest has ${bytes.length} bytes, expected ${expected} for ${pageCount} pages in runs of ${runPages}`);
  }
  const records: RunRecord[] = [];
  let offset = 0;
  for (let i = 0; i < runs; i++) {
    const blobCount = bytes.readUInt32LE(offset);
    offset += COUNT_BYTES;
    const length = pagesInRun(i, pageCount, runPages) * HASH_BYTES;
    records.push({ blobCount, hashes: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  return records;
}

/**
 * The page-hash manifest: the content of the `<name>.ebm-page-hashes` entry.
 * With it an incremental decides which runs changed, which stored blobs to
 * reuse for the others, and where each run's key image and delta are,
 * without reading any stored page. Restore never needs it.
 *
 * Run i covers pages i·runPages+1 … min((i+1)·runPages, pageCount); segment
 * s covers runs s·segmentRuns … (pageCount, runPages and segmentRuns are in
 * the entry's meta). All integers uint32 little-endian.
 *
 * Version 1 (database content = the runs' images, in order), one record per run:
 *
 *     record = blobCount ‖ sha256(page₁) ‖ … ‖ sha256(pageₖ)
 *
 * Version 2 (database content = per segment: its delta block, then its runs'
 * key images), one record per segment:
 *
 *     segment = deltaBlobCount ‖ run*
 *     run     = keyBlobCount ‖ deltaLength ‖ sha256(page₁) ‖ … ‖ sha256(pageₖ)
 *
 * `blobCount`/`keyBlobCount`/`deltaBlobCount` say how many ids of the
 * database entry's `content` hold that image or block, in content order (the
 * repository's chunker may cut one into several blobs); `deltaLength` is the
 * length of the run's delta in the segment's block (0: the run is its key).
 */
export const HASH_BYTES = 32;
const COUNT_BYTES = 4;

export interface RunRecord {
  readonly keyBlobCount: number;
  /** Bytes of the run's delta against its key (0: none; always 0 in version 1). */
  readonly deltaLength: number;
  /** The run's page hashes, HASH_BYTES each, concatenated. */
  readonly hashes: Buffer;
}

export interface SegmentRecord {
  readonly deltaBlobCount: number;
}

export interface PageManifest {
  readonly runs: readonly RunRecord[];
  /** Version 2 only. */
  readonly segments?: readonly SegmentRecord[];
}

export function runCount(pageCount: number, runPages: number): number {
  return Math.ceil(pageCount / runPages);
}

export function pagesInRun(index: number, pageCount: number, runPages: number): number {
  return Math.min(runPages, pageCount - index * runPages);
}

/** Version 2: one buffer per segment (runs of that segment, in order). */
export function encodeSegment(segment: SegmentRecord, runs: readonly RunRecord[]): Buffer {
  const size = COUNT_BYTES + runs.reduce((sum, r) => sum + 2 * COUNT_BYTES + r.hashes.length, 0);
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(segment.deltaBlobCount, 0);
  let offset = COUNT_BYTES;
  for (const r of runs) {
    out.writeUInt32LE(r.keyBlobCount, offset);
    out.writeUInt32LE(r.deltaLength, offset + COUNT_BYTES);
    r.hashes.copy(out, offset + 2 * COUNT_BYTES);
    offset += 2 * COUNT_BYTES + r.hashes.length;
  }
  return out;
}

/** Decodes a manifest of either version; throws an Error saying what does not fit the layout. */
export function decodeManifest(bytes: Buffer, version: 1 | 2, pageCount: number, runPages: number, segmentRuns: number): PageManifest {
  const runs = runCount(pageCount, runPages);
  const segments = version === 2 ? Math.ceil(runs / segmentRuns) : 0;
  const perRun = version === 2 ? 2 * COUNT_BYTES : COUNT_BYTES;
  const expected = segments * COUNT_BYTES + runs * perRun + pageCount * HASH_BYTES;
  if (bytes.length !== expected) {
    throw new Error(`the page-hash manifest has ${bytes.length} bytes, expected ${expected} for ${pageCount} pages in runs of ${runPages} (format version ${version})`);
  }
  const runRecords: RunRecord[] = [];
  const segmentRecords: SegmentRecord[] = [];
  let offset = 0;
  for (let i = 0; i < runs; i++) {
    if (version === 2 && i % segmentRuns === 0) {
      segmentRecords.push({ deltaBlobCount: bytes.readUInt32LE(offset) });
      offset += COUNT_BYTES;
    }
    const keyBlobCount = bytes.readUInt32LE(offset);
    const deltaLength = version === 2 ? bytes.readUInt32LE(offset + COUNT_BYTES) : 0;
    offset += perRun;
    const length = pagesInRun(i, pageCount, runPages) * HASH_BYTES;
    runRecords.push({ keyBlobCount, deltaLength, hashes: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  return version === 2 ? { runs: runRecords, segments: segmentRecords } : { runs: runRecords };
}

/**
 * A segment's delta block: the deltas (run-delta.ts) of the runs of one
 * segment that differ from their key, stored in front of the segment's key
 * images in the database entry's content (format version 2). It is
 * self-describing, so a restore needs nothing but the entry's own stream.
 *
 * Layout (integers uint32 little-endian):
 *
 *     block  = "EBD2" ‖ bodyLength ‖ record*          (bodyLength: bytes of the records)
 *     record = run ‖ deltaLength ‖ delta[deltaLength]  (run: 0-based run index in the database)
 *
 * Records are in increasing run order, each for a run of the segment, at
 * most one per run; a run without a record is its key image unchanged. A
 * segment whose runs all equal their keys has an empty block (8 bytes, the
 * same blob for every such segment of the repository).
 */
export const BLOCK_MAGIC = Buffer.from('EBD2', 'latin1');
export const BLOCK_HEADER_BYTES = 8;
const RECORD_HEADER_BYTES = 8;

export interface RunDelta {
  readonly run: number;
  readonly delta: Buffer;
}

/** Bytes a record for a delta of `deltaLength` bytes takes in a block. */
export function recordBytes(deltaLength: number): number {
  return deltaLength === 0 ? 0 : RECORD_HEADER_BYTES + deltaLength;
}

export function encodeBlock(deltas: readonly RunDelta[]): Buffer {
  const body = deltas.filter((d) => d.delta.length > 0);
  const length = body.reduce((sum, d) => sum + recordBytes(d.delta.length), 0);
  const out = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + length);
  BLOCK_MAGIC.copy(out, 0);
  out.writeUInt32LE(length, 4);
  let offset = BLOCK_HEADER_BYTES;
  for (const { run, delta } of body) {
    out.writeUInt32LE(run, offset);
    out.writeUInt32LE(delta.length, offset + 4);
    delta.copy(out, offset + RECORD_HEADER_BYTES);
    offset += recordBytes(delta.length);
  }
  return out;
}

/** The body length a block header announces; throws an Error when `header` is not a block header. */
export function blockBodyLength(header: Buffer): number {
  if (header.length < BLOCK_HEADER_BYTES || !header.subarray(0, 4).equals(BLOCK_MAGIC)) {
    throw new Error('no delta block starts where one was expected');
  }
  return header.readUInt32LE(4);
}

/**
 * The records of a block body, by run. `firstRun` … `firstRun + runs - 1`
 * are the segment's runs. Throws an Error saying what does not fit.
 */
export function decodeBlockBody(body: Buffer, firstRun: number, runs: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let offset = 0;
  let previous = firstRun - 1;
  while (offset < body.length) {
    if (body.length - offset < RECORD_HEADER_BYTES) throw new Error(`its delta block ends inside a record header at byte ${offset}`);
    const run = body.readUInt32LE(offset);
    const length = body.readUInt32LE(offset + 4);
    if (run <= previous || run >= firstRun + runs || length === 0 || offset + RECORD_HEADER_BYTES + length > body.length) {
      throw new Error(`its delta block has a record for run ${run} (${length} bytes) that does not fit runs ${firstRun}–${firstRun + runs - 1}`);
    }
    out.set(run, body.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length));
    offset += RECORD_HEADER_BYTES + length;
    previous = run;
  }
  return out;
}

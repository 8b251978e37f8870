import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { BlobCodec, BlobKind } from '../protocol/messages';

/**
 * A put-blobs message names several blobs in one binary `index`, each blob a
 * range of one of the message's `buffers`. One index record per blob:
 *
 *   id (32 bytes, the blob id's binary form) ‖ kind (1 byte: 0 data, 1 tree)
 *   ‖ codec (1 byte: 0 plaintext, 1 zstd frame, 2 plaintext not worth compressing)
 *   ‖ buffer (uint16 LE: which of `buffers`) ‖ offset (uint32 LE) ‖ length (uint32 LE)
 *
 * Binary rather than an array of objects: structured-cloning one small object
 * per blob cost more than storing a small blob. The bodies stay where they
 * are: in a worker they are regions of the job's shared ring (SharedRing),
 * which cross postMessage as a reference, so `buffers` is usually that one
 * ring. The host still re-hashes every body; the index only says where each
 * one is.
 */
export const PUT_BLOBS_RECORD_BYTES = 32 + 1 + 1 + 2 + 4 + 4;

export interface FramedBlob {
  readonly id: BlobId;
  readonly kind: BlobKind;
  readonly codec: BlobCodec;
  readonly body: Uint8Array;
}

export interface PutBlobsFrame {
  readonly index: Uint8Array;
  /** Views of whole buffers (an ArrayBuffer or a SharedArrayBuffer each) that the records point into. */
  readonly buffers: readonly Uint8Array[];
}

/** Indexes blobs without copying their bodies: each distinct underlying buffer is listed once, whole. */
export function encodePutBlobs(blobs: readonly FramedBlob[]): PutBlobsFrame {
  const buffers: Uint8Array[] = [];
  const bufferNumbers = new Map<ArrayBufferLike, number>();
  const index = Buffer.allocUnsafe(blobs.length * PUT_BLOBS_RECORD_BYTES);
  let at = 0;
  for (const b of blobs) {
    let number = bufferNumbers.get(b.body.buffer);
    if (number === undefined) {
      number = buffers.length;
      if (number > 0xffff) throw new RangeError('encodePutBlobs: more than 65536 distinct buffers');
      bufferNumbers.set(b.body.buffer, number);
      buffers.push(new Uint8Array(b.body.buffer));
    }
    if (index.write(b.id, at, 32, 'hex') !== 32 || b.id.length !== 64) throw new TypeError(`encodePutBlobs: ${JSON.stringify(b.id)} is not a blob id`);
    index[at + 32] = b.kind === 'tree' ? 1 : 0;
    index[at + 33] = b.codec;
    index.writeUInt16LE(number, at + 34);
    index.writeUInt32LE(b.body.byteOffset, at + 36);
    index.writeUInt32LE(b.body.length, at + 40);
    at += PUT_BLOBS_RECORD_BYTES;
  }
  return { index, buffers };
}

/**
 * The blobs a put-blobs message names (bodies are views of its buffers, not
 * copies). Anything malformed — a truncated record, an unknown kind or codec,
 * a range outside its buffer — is E_PROTOCOL naming the record.
 */
export function decodePutBlobs(index: Uint8Array, buffers: readonly Uint8Array[]): FramedBlob[] {
  const buf = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
  const blobs: FramedBlob[] = [];
  const bad = (problem: string): never => {
    throw new EbmError('E_PROTOCOL', `put-blobs record ${blobs.length}: ${problem}`);
  };
  if (buf.length % PUT_BLOBS_RECORD_BYTES !== 0) bad(`the index is ${buf.length} bytes, not a whole number of ${PUT_BLOBS_RECORD_BYTES}-byte records`);
  for (let at = 0; at < buf.length; at += PUT_BLOBS_RECORD_BYTES) {
    const kind = buf[at + 32];
    const codec = buf[at + 33];
    const number = buf.readUInt16LE(at + 34);
    const offset = buf.readUInt32LE(at + 36);
    const length = buf.readUInt32LE(at + 40);
    if (kind !== 0 && kind !== 1) bad(`unknown kind ${kind}`);
    if (codec !== 0 && codec !== 1 && codec !== 2) bad(`unknown codec ${codec}`);
    const buffer = buffers[number];
    if (!(buffer instanceof Uint8Array)) bad(`buffer ${number} does not exist (the message has ${buffers.length})`);
    if (offset + length > buffer!.length) bad(`bytes ${offset}..${offset + length} run past the end of buffer ${number} (${buffer!.length} bytes)`);
    blobs.push({ id: buf.toString('hex', at, at + 32), kind: kind === 1 ? 'tree' : 'data', codec: codec as BlobCodec, body: buffer!.subarray(offset, offset + length) });
  }
  return blobs;
}

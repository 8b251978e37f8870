import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { BlobCodec, BlobKind } from '../protocol/messages';

/**
 * The `data` of a put-blobs message: several blobs in one buffer, each as
 *
 *   id (32 bytes, the blob id's binary form) ‖ kind (1 byte: 0 data, 1 tree)
 *   ‖ codec (1 byte: 0 plaintext, 1 zstd frame, 2 plaintext not worth compressing) ‖ length (4 bytes, LE)
 *   ‖ body (length bytes)
 *
 * Binary rather than an array of objects: structured-cloning one small object
 * per blob cost more than storing a small blob, and one transferred buffer
 * costs the same whatever it holds. The host still re-hashes every body; the
 * frame only says where each one is.
 */
export const PUT_BLOBS_RECORD_HEADER_BYTES = 32 + 1 + 1 + 4;

export interface FramedBlob {
  readonly id: BlobId;
  readonly kind: BlobKind;
  readonly codec: BlobCodec;
  readonly body: Uint8Array;
}

/** Encodes blobs into one buffer that owns its whole ArrayBuffer (a structured clone of a view copies its whole buffer). */
export function encodePutBlobs(blobs: readonly FramedBlob[]): Uint8Array {
  let total = 0;
  for (const b of blobs) total += PUT_BLOBS_RECORD_HEADER_BYTES + b.body.length;
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const b of blobs) {
    if (out.write(b.id, at, 32, 'hex') !== 32 || b.id.length !== 64) throw new TypeError(`encodePutBlobs: ${JSON.stringify(b.id)} is not a blob id`);
    out[at + 32] = b.kind === 'tree' ? 1 : 0;
    out[at + 33] = b.codec;
    out.writeUInt32LE(b.body.length, at + 34);
    at += PUT_BLOBS_RECORD_HEADER_BYTES;
    out.set(b.body, at);
    at += b.body.length;
  }
  return out;
}

/**
 * Splits a put-blobs buffer into its blobs (bodies are views of `data`, not
 * copies). Anything malformed — a truncated record, an unknown kind or codec —
 * is E_PROTOCOL naming the record.
 */
export function decodePutBlobs(data: Uint8Array): FramedBlob[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const blobs: FramedBlob[] = [];
  let at = 0;
  while (at < buf.length) {
    const bad = (problem: string): never => {
      throw new EbmError('E_PROTOCOL', `put-blobs record ${blobs.length} (byte ${at}): ${problem}`);
    };
    if (buf.length - at < PUT_BLOBS_RECORD_HEADER_BYTES) bad('truncated header');
    const kind = buf[at + 32];
    const codec = buf[at + 33];
    const length = buf.readUInt32LE(at + 34);
    if (kind !== 0 && kind !== 1) bad(`unknown kind ${kind}`);
    if (codec !== 0 && codec !== 1 && codec !== 2) bad(`unknown codec ${codec}`);
    const start = at + PUT_BLOBS_RECORD_HEADER_BYTES;
    if (buf.length - start < length) bad(`body of ${length} bytes runs past the end`);
    blobs.push({ id: buf.toString('hex', at, at + 32), kind: kind === 1 ? 'tree' : 'data', codec: codec as BlobCodec, body: buf.subarray(start, start + length) });
    at = start + length;
  }
  return blobs;
}

import { createHash } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import { decompress } from 'zstd-napi';
import { getFrameContentSize } from 'zstd-napi/binding';
import { compressTransient, pluginFrameDamaged, storedFrameDamaged, threadDctx } from './transient-zstd';

/**
 * Plaintext framing of every stored object before encryption:
 *   codec byte ‖ body
 * codec 0 = stored as is, 1 = zstd frame. Data that does not shrink is stored
 * as is, so incompressible content costs one byte, not a failed compression.
 */
export const CODEC_RAW = 0;
export const CODEC_ZSTD = 1;

/** A body and the codec it is in (the payload without its codec byte). */
export interface EncodedBody {
  readonly codec: typeof CODEC_RAW | typeof CODEC_ZSTD;
  readonly body: Uint8Array;
}

/**
 * How a plaintext is stored, decided once for every writer: zstd at `level`
 * only if the frame is smaller than the plaintext (below 64 bytes a frame's
 * own overhead leaves nothing to gain; level 0 means "do not compress"),
 * else the plaintext itself. A zstd body is TRANSIENT: it lives in a buffer
 * reused by the next call in this thread (see transient-zstd.ts), so only a
 * caller that copies it at once (encrypting, framing) may use this directly.
 */
export function encodeTransient(plaintext: Uint8Array, level: number): EncodedBody {
  const frame = plaintext.length >= 64 && level > 0 ? compressTransient(plaintext, level) : undefined;
  return frame === undefined ? { codec: CODEC_RAW, body: plaintext } : { codec: CODEC_ZSTD, body: frame };
}

/**
 * Compresses for storage when it pays: codec 1 (zstd at `level`) only if the
 * frame is smaller than the plaintext, else codec 0 with the plaintext itself
 * (not copied). The frame is a buffer of its own (see encodeTransient for the
 * reusing variant the blob paths use).
 */
export function compressForStorage(plaintext: Uint8Array, level: number): EncodedBody {
  const encoded = encodeTransient(plaintext, level);
  // A frame of its own, of exactly its size (zstd-napi's own compress allocated a
  // worst-case-sized buffer per call and often copied it again to trim it).
  return encoded.codec === CODEC_ZSTD ? { codec: CODEC_ZSTD, body: Buffer.from(encoded.body) } : encoded;
}

export function encodePayload(plaintext: Uint8Array, level: number): Buffer {
  const { codec, body } = encodeTransient(plaintext, level);
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = codec;
  out.set(body, 1);
  return out;
}

/** Decompresses a zstd frame that came from outside (a plugin's put-blob); a broken frame is E_PROTOCOL. */
export function decompressIncoming(frame: Uint8Array, what: string): Buffer {
  try {
    return decompress(frame);
  } catch (err) {
    throw pluginFrameDamaged(what, err);
  }
}

/** Reverses encodePayload; an unknown codec or a broken zstd frame gives E_CORRUPT_OBJECT naming `what`. */
export function decodePayload(payload: Uint8Array, what: string): Buffer {
  if (payload.length < 1) throw new EbmError('E_CORRUPT_OBJECT', `${what}: empty payload`, { subject: what });
  const body = payload.subarray(1);
  switch (payload[0]) {
    case CODEC_RAW:
      return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    case CODEC_ZSTD:
      try {
        return decompress(body);
      } catch (err) {
        throw storedFrameDamaged(what, err);
      }
    default:
      throw new EbmError('E_CORRUPT_OBJECT', `${what}: unknown codec byte ${payload[0]}`, { subject: what });
  }
}

/**
 * Reverses encodePayload for a blob whose plaintext length the index states,
 * into a buffer the caller owns outright: a zstd body is decompressed straight
 * into a fresh buffer of exactly `rawLength` bytes (never a slice of Node's
 * shared pool), a raw body is a view of `payload`. So when `payload` owns its
 * ArrayBuffer (a decryption's output does), the result may be moved to
 * another thread without a copy (BlobStore.takeBlob). With `into` (exactly
 * `rawLength` bytes, e.g. a region of a restore ring), the plaintext is
 * written there instead and the result is a Buffer over it. A frame that
 * declares another size is E_CORRUPT_OBJECT naming `what`; a body that
 * yields another number of bytes comes back as is, for the caller's length
 * check to name.
 */
export function decodeBlobPayload(payload: Buffer, rawLength: number, what: string, into?: Uint8Array): Buffer {
  if (into !== undefined && into.length !== rawLength) throw new RangeError(`decodeBlobPayload: into has ${into.length} bytes, the blob ${rawLength}`);
  if (payload.length < 1 || payload[0] !== CODEC_ZSTD) {
    const plaintext = decodePayload(payload, what);
    if (into === undefined || plaintext.length !== rawLength) return plaintext;
    into.set(plaintext);
    return Buffer.from(into.buffer, into.byteOffset, into.length);
  }
  const body = payload.subarray(1);
  try {
    const declared = getFrameContentSize(body);
    if (declared !== null && declared !== rawLength) {
      throw new EbmError('E_CORRUPT_OBJECT', `${what}: plaintext is ${declared} bytes, the index says ${rawLength}`, { subject: what });
    }
    const out = into === undefined ? Buffer.allocUnsafeSlow(rawLength) : Buffer.from(into.buffer, into.byteOffset, into.length);
    const length = threadDctx().decompress(out, body);
    return length === rawLength ? out : out.subarray(0, length);
  } catch (err) {
    if (err instanceof EbmError) throw err;
    throw storedFrameDamaged(what, err);
  }
}

/** SHA-256 hex of a stored file's bytes: the name of packs, index and snapshot files. */
export function fileHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

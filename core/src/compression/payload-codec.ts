import { createHash } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import { compress, decompress } from 'zstd-napi';

/**
 * Plaintext framing of every stored object before encryption:
 *   codec byte ‖ body
 * codec 0 = stored as is, 1 = zstd frame. Data that does not shrink is stored
 * as is, so incompressible content costs one byte, not a failed compression.
 */
export const CODEC_RAW = 0;
export const CODEC_ZSTD = 1;

export function encodePayload(plaintext: Uint8Array, level: number): Buffer {
  if (plaintext.length >= 64 && level > 0) {
    const packed = compress(plaintext, { compressionLevel: level });
    if (packed.length + 1 < plaintext.length) {
      const out = Buffer.allocUnsafe(packed.length + 1);
      out[0] = CODEC_ZSTD;
      out.set(packed, 1);
      return out;
    }
  }
  const out = Buffer.allocUnsafe(plaintext.length + 1);
  out[0] = CODEC_RAW;
  out.set(plaintext, 1);
  return out;
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
        throw new EbmError('E_CORRUPT_OBJECT', `${what}: zstd frame is damaged (${(err as Error).message})`, { subject: what });
      }
    default:
      throw new EbmError('E_CORRUPT_OBJECT', `${what}: unknown codec byte ${payload[0]}`, { subject: what });
  }
}

/** SHA-256 hex of a stored file's bytes: the name of packs, index and snapshot files. */
export function fileHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

import { canonicalJson, EbmError } from '@ebm/sdk';
import type { ObjectCipher } from '../crypto/object-cipher';
import { decodePayload, encodePayload } from '../compression/payload-codec';

/**
 * The framing of every encrypted JSON file (index, snapshots, locks):
 *   file = seal(codec byte ‖ body), body = utf8 canonical JSON
 * (seal = the repository's ObjectCipher frame, nonce(12) ‖ sealed ‖ tag(16); codec 0 raw, 1 zstd).
 */
export function sealJson(cipher: ObjectCipher, value: unknown, compressionLevel: number): Buffer {
  return cipher.seal([encodePayload(Buffer.from(canonicalJson(value), 'utf8'), compressionLevel)]);
}

/** Reverses sealJson. Any damage → E_CORRUPT_OBJECT naming `what`. */
export function unsealJson<T>(cipher: ObjectCipher, bytes: Uint8Array, what: string): T {
  const plain = decodePayload(cipher.unseal(bytes, what), what);
  try {
    return JSON.parse(plain.toString('utf8')) as T;
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: decrypted content is not valid JSON`, { subject: what });
  }
}

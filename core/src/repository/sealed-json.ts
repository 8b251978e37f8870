import { canonicalJson, EbmError } from '@ebm/sdk';
import { seal, unseal } from '../crypto/aead';
import { decodePayload, encodePayload } from '../compression/payload-codec';

/**
 * The framing of every encrypted JSON file (index, snapshots, locks):
 *   file = seal(encryption key, codec byte ‖ body), body = utf8 canonical JSON
 * (seal = nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16); codec 0 raw, 1 zstd).
 */
export function sealJson(encryptionKey: Uint8Array, value: unknown, compressionLevel: number): Buffer {
  return seal(encryptionKey, encodePayload(Buffer.from(canonicalJson(value), 'utf8'), compressionLevel));
}

/** Reverses sealJson. Any damage → E_CORRUPT_OBJECT naming `what`. */
export function unsealJson<T>(encryptionKey: Uint8Array, bytes: Uint8Array, what: string): T {
  const plain = decodePayload(unseal(encryptionKey, bytes, what), what);
  try {
    return JSON.parse(plain.toString('utf8')) as T;
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: decrypted content is not valid JSON`, { subject: what });
  }
}

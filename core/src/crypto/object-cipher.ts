import { createHmac, timingSafeEqual } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import { NONCE_BYTES, SEAL_OVERHEAD, TAG_BYTES, sealParts, sealPieces, unseal } from './aead';

/**
 * How a repository protects every object it stores (pack blobs, pack
 * headers, index, snapshots, locks). Chosen once, at `ebm init`, and recorded
 * in the repository config:
 *
 * - `aes-256-gcm` (default): confidentiality and integrity (aead.ts).
 * - `none`: integrity only. The frame keeps the same size and layout —
 *   12 zero bytes ‖ plaintext ‖ tag(16) where tag = the first 16 bytes of
 *   HMAC-SHA-256(mac key, aad ‖ plaintext) — so a damaged object is still detected
 *   (E_CORRUPT_OBJECT), but anyone who can read the repository can read the
 *   data, and since the mac key is stored unwrapped, the tag protects against
 *   damage, not against a deliberate forger. For repositories on storage that
 *   is already encrypted and access-controlled, where the password handling
 *   and AES cost buy nothing.
 */
export type EncryptionAlgorithm = 'aes-256-gcm' | 'none';

export const ENCRYPTION_ALGORITHMS: readonly EncryptionAlgorithm[] = ['aes-256-gcm', 'none'];

/**
 * `aad` (associated data: a blob's raw id, in format version 2) is bound to
 * the frame without being stored in it: a frame opens only with the `aad`
 * it was sealed with.
 */
export interface ObjectCipher {
  readonly algorithm: EncryptionAlgorithm;
  /** Seals the concatenation of `parts` into one stored frame (SEAL_OVERHEAD bytes longer). */
  seal(parts: readonly Uint8Array[], aad?: Uint8Array): Buffer;
  /** The same frame as `seal`, as pieces whose concatenation it is (no joining copy). */
  sealPieces(parts: readonly Uint8Array[], aad?: Uint8Array): readonly Uint8Array[];
  /** Checks and opens a frame; damage, a wrong key or another `aad` → E_CORRUPT_OBJECT naming `what`. */
  unseal(sealed: Uint8Array, what: string, aad?: Uint8Array): Buffer;
}

export function isEncryptionAlgorithm(value: unknown): value is EncryptionAlgorithm {
  return typeof value === 'string' && (ENCRYPTION_ALGORITHMS as readonly string[]).includes(value);
}

/** The cipher for `algorithm` under the repository's 32-byte object key. */
export function createObjectCipher(algorithm: EncryptionAlgorithm, key: Uint8Array): ObjectCipher {
  return algorithm === 'none' ? integrityOnlyCipher(key) : aesGcmCipher(key);
}

export function aesGcmCipher(key: Uint8Array): ObjectCipher {
  return {
    algorithm: 'aes-256-gcm',
    seal: (parts, aad) => sealParts(key, parts, aad),
    sealPieces: (parts, aad) => sealPieces(key, parts, aad),
    unseal: (sealed, what, aad) => unseal(key, sealed, what, aad),
  };
}

const ZERO_NONCE = Buffer.alloc(NONCE_BYTES);

export function integrityOnlyCipher(key: Uint8Array): ObjectCipher {
  // With aad: HMAC over aad ‖ parts (an aad is always 32 bytes, a blob id, so the split is unambiguous).
  const tagOf = (parts: readonly Uint8Array[], aad: Uint8Array | undefined): Buffer => {
    const mac = createHmac('sha256', key);
    if (aad !== undefined) mac.update(aad);
    for (const part of parts) mac.update(part);
    return mac.digest().subarray(0, TAG_BYTES);
  };
  return {
    algorithm: 'none',
    seal: (parts, aad) => Buffer.concat([ZERO_NONCE, ...parts, tagOf(parts, aad)]),
    // One copy, as seal makes: the parts may be views into larger buffers (a plugin's message) that a pack must not keep alive.
    sealPieces: (parts, aad) => [Buffer.concat([ZERO_NONCE, ...parts]), tagOf(parts, aad)],
    unseal: (sealed, what, aad) => {
      if (sealed.length < SEAL_OVERHEAD) {
        throw new EbmError('E_CORRUPT_OBJECT', `${what}: too short to be a stored object (${sealed.length} bytes)`, { subject: what });
      }
      const body = Buffer.from(sealed.buffer, sealed.byteOffset + NONCE_BYTES, sealed.length - SEAL_OVERHEAD);
      const tag = Buffer.from(sealed.buffer, sealed.byteOffset + sealed.length - TAG_BYTES, TAG_BYTES);
      const nonce = Buffer.from(sealed.buffer, sealed.byteOffset, NONCE_BYTES);
      if (!nonce.equals(ZERO_NONCE) || !timingSafeEqual(tagOf([body], aad), tag)) {
        throw new EbmError('E_CORRUPT_OBJECT', `${what}: integrity check failed (the file is damaged or was modified)`, { subject: what });
      }
      return Buffer.from(body);
    },
  };
}

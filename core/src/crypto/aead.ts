import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EbmError } from '@ebm/sdk';

/**
 * Authenticated encryption of every repository object: AES-256-GCM,
 * layout nonce(12) ‖ ciphertext ‖ tag(16). A fresh random nonce per object.
 */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/**
 * Nonces are 96 random bits from the CSPRNG, as with randomBytes(12) per
 * object, but drawn from a pooled 4 KiB buffer: one randomBytes call per 341
 * nonces instead of one per blob (that call cost about 11 µs each). Every
 * nonce is fresh random bytes, never reused, so GCM's uniqueness argument is
 * the same as with per-call random nonces.
 */
const NONCE_POOL_BYTES = NONCE_BYTES * 341;
let noncePool = Buffer.alloc(0);
let noncePoolOffset = 0;

function freshNonce(): Buffer {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    noncePoolOffset = 0;
  }
  const nonce = noncePool.subarray(noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

export function seal(key: Uint8Array, plaintext: Uint8Array): Buffer {
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([nonce, body, final, cipher.getAuthTag()]);
}

/** Like seal, over the concatenation of `parts`, without first copying them into one buffer. */
export function sealParts(key: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const out: Buffer[] = [nonce];
  for (const part of parts) out.push(cipher.update(part));
  out.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(out);
}

/** Decrypts and authenticates; any tampering or a wrong key gives E_CORRUPT_OBJECT naming `what`. */
export function unseal(key: Uint8Array, sealed: Uint8Array, what: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: too short to be an encrypted object (${sealed.length} bytes)`, { subject: what });
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: authentication failed (the file is damaged or was modified)`, { subject: what });
  }
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EbmError } from '@ebm/sdk';

/**
 * Authenticated encryption of every repository object: AES-256-GCM,
 * layout nonce(12) ‖ ciphertext ‖ tag(16). A fresh random nonce per object.
 */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

export function seal(key: Uint8Array, plaintext: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([nonce, body, final, cipher.getAuthTag()]);
}

/** Like seal, over the concatenation of `parts`, without first copying them into one buffer. */
export function sealParts(key: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
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

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

/**
 * `aad` (associated data) is authenticated but not stored: an object sealed
 * with it opens only with the same `aad` (blobs of format version 2 are
 * sealed with their id, docs/format.md "Blobs").
 */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  return sealParts(key, [plaintext], aad);
}

/** Like seal, over the concatenation of `parts`, without first copying them into one buffer. */
export function sealParts(key: Uint8Array, parts: readonly Uint8Array[], aad?: Uint8Array): Buffer {
  return Buffer.concat(cipherPieces(key, parts, aad));
}

/**
 * The sealed frame of the concatenation of `parts`, as pieces whose
 * concatenation is the frame: nonce, one ciphertext piece per part, tag.
 * For pack blobs, which are written as a list of pieces anyway: joining them
 * would copy every stored byte once more, and each copy is one more large
 * buffer for the garbage collector. Neighbouring small pieces (the nonce and
 * a codec byte) are joined, so a blob is typically three pieces.
 */
export function sealPieces(key: Uint8Array, parts: readonly Uint8Array[], aad?: Uint8Array): Buffer[] {
  return joinSmallNeighbours(cipherPieces(key, parts, aad));
}

/** nonce, one ciphertext piece per part, the final block if any, tag. */
function cipherPieces(key: Uint8Array, parts: readonly Uint8Array[], aad: Uint8Array | undefined): Buffer[] {
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  if (aad !== undefined) cipher.setAAD(aad);
  const pieces: Buffer[] = [nonce];
  for (const part of parts) pieces.push(cipher.update(part));
  const final = cipher.final(); // GCM is a stream mode: empty
  if (final.length > 0) pieces.push(final);
  pieces.push(cipher.getAuthTag());
  return pieces;
}

/** Pieces below this size are joined with small neighbours (a copy of a few bytes saves a write vector entry and a hash call). */
const SMALL_PIECE_BYTES = 256;

function joinSmallNeighbours(pieces: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let small: Buffer[] = [];
  const flush = (): void => {
    if (small.length > 0) out.push(small.length === 1 ? small[0]! : Buffer.concat(small));
    small = [];
  };
  for (const piece of pieces) {
    if (piece.length < SMALL_PIECE_BYTES) {
      small.push(piece);
      continue;
    }
    flush();
    out.push(piece);
  }
  flush();
  return out;
}

/**
 * Decrypts and authenticates; any tampering, a wrong key or another `aad`
 * than the object was sealed with gives E_CORRUPT_OBJECT naming `what`.
 */
export function unseal(key: Uint8Array, sealed: Uint8Array, what: string, aad?: Uint8Array): Buffer {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: too short to be an encrypted object (${sealed.length} bytes)`, { subject: what });
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAuthTag(tag);
    if (aad !== undefined) decipher.setAAD(aad);
    const plaintext = decipher.update(body);
    const final = decipher.final(); // GCM is a stream mode: empty (checked, never assumed), so no copy of the plaintext
    return final.length === 0 ? plaintext : Buffer.concat([plaintext, final]);
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: authentication failed (the file is damaged or was modified)`, { subject: what });
  }
}

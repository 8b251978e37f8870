import { computeBlobId, EbmError } from '@ebm/sdk';
import type { BlobKind } from '@ebm/sdk';
import { SEAL_OVERHEAD } from '../crypto/aead';
import type { ObjectCipher } from '../crypto/object-cipher';
import { decodeBlobPayload, encodeTransient } from '../compression/payload-codec';
import type { EncodedBody } from '../compression/payload-codec';
import type { Backend } from '../backend/backend';
import type { MasterKeys } from './types';

/**
 * What the pack, index, blob-store, checker and prune code needs of an open
 * repository. `Repository` (repository.ts) satisfies it; tests may build one
 * from a backend and random keys.
 */
export interface RepoAccess {
  readonly backend: Backend;
  readonly keys: MasterKeys;
  /** Seals and opens every stored object (AES-256-GCM, or integrity only; object-cipher.ts). */
  readonly cipher: ObjectCipher;
  /**
   * True when blobs are sealed with their raw id as associated data (format
   * version 2 on): a blob then opens only under the id it was stored as, so
   * a reader that trusts the writer's hashing need not hash it again.
   */
  readonly bindsBlobIds: boolean;
  readonly compressionLevel: number;
  readonly config: { readonly packs: { readonly targetSize: number } };
  /** Encrypts and stores a JSON file; resolves to its id (sha256 of the stored bytes) once durable. */
  saveJsonFile(type: 'index' | 'snapshots', value: unknown): Promise<string>;
  /** Loads, verifies (hash, tag) and parses a JSON file; E_CORRUPT_OBJECT on damage. */
  loadJsonFile<T>(type: 'index' | 'snapshots', id: string): Promise<T>;
}

/**
 * The binary layout of pack files (docs/format.md, "Packs"):
 *
 *   blob₁ ‖ blob₂ ‖ … ‖ sealed header ‖ uint32 LE length of the sealed header
 *
 * Each blob is `seal(encryption key, encodePayload(plaintext))`. The header
 * plaintext is one version byte (1) followed by one 45-byte record per blob:
 * kind (0 data, 1 tree) ‖ id (32 raw bytes) ‖ offset ‖ length ‖ rawLength
 * (uint32 LE each). Blobs are contiguous, in header order, starting at 0.
 */
export const PACK_HEADER_VERSION = 1;
export const PACK_ENTRY_BYTES = 45;
export const PACK_TRAILER_BYTES = 4;
/** The smallest sealed blob: an empty plaintext is one codec byte. */
export const MIN_SEALED_BLOB = SEAL_OVERHEAD + 1;
/** Packs (and so offsets) must fit uint32. */
export const MAX_PACK_BYTES = 0xffff_ffff;

const KIND_CODES: Readonly<Record<BlobKind, number>> = { data: 0, tree: 1 };
const CODE_KINDS: readonly BlobKind[] = ['data', 'tree'];

/** One blob's place in a pack; also what an index file records for it. */
export interface PackBlob {
  readonly id: string;
  readonly kind: BlobKind;
  /** Byte offset of the sealed blob in the pack file. */
  readonly offset: number;
  /** Sealed (stored) length in bytes. */
  readonly length: number;
  /** Plaintext length in bytes. */
  readonly rawLength: number;
}

/** Size in bytes of the sealed header for `count` blobs. */
export function sealedHeaderSize(count: number): number {
  return SEAL_OVERHEAD + 1 + count * PACK_ENTRY_BYTES;
}

/** The exact size of a pack file holding `blobs` (contiguous from offset 0). */
export function expectedPackSize(blobs: readonly PackBlob[]): number {
  let end = 0;
  for (const b of blobs) end = Math.max(end, b.offset + b.length);
  return end + sealedHeaderSize(blobs.length) + PACK_TRAILER_BYTES;
}

export function encodePackHeader(blobs: readonly PackBlob[]): Buffer {
  const out = Buffer.allocUnsafe(1 + blobs.length * PACK_ENTRY_BYTES);
  out[0] = PACK_HEADER_VERSION;
  let at = 1;
  for (const b of blobs) {
    out[at] = KIND_CODES[b.kind];
    if (out.write(b.id, at + 1, 32, 'hex') !== 32) throw new EbmError('E_INTERNAL', `blob id ${b.id} is not 64 hex characters`);
    out.writeUInt32LE(b.offset, at + 33);
    out.writeUInt32LE(b.length, at + 37);
    out.writeUInt32LE(b.rawLength, at + 41);
    at += PACK_ENTRY_BYTES;
  }
  return out;
}

/**
 * Parses a header plaintext and checks it describes a well-formed pack whose
 * blob area is `blobAreaSize` bytes: known version and kinds, blobs
 * contiguous from 0 and ending exactly where the header starts.
 */
export function decodePackHeader(plain: Buffer, packName: string, blobAreaSize: number): PackBlob[] {
  const bad = (why: string): EbmError =>
    new EbmError('E_CORRUPT_OBJECT', `pack ${packName}: ${why}`, { subject: packName });
  if (plain.length < 1 || plain[0] !== PACK_HEADER_VERSION) throw bad(`unknown pack header version ${plain[0]}`);
  if ((plain.length - 1) % PACK_ENTRY_BYTES !== 0) throw bad(`header length ${plain.length} is not 1 + n×${PACK_ENTRY_BYTES}`);
  const blobs: PackBlob[] = [];
  let expectedOffset = 0;
  for (let at = 1; at < plain.length; at += PACK_ENTRY_BYTES) {
    const kind = CODE_KINDS[plain[at]!];
    if (kind === undefined) throw bad(`header entry ${blobs.length} has unknown kind ${plain[at]}`);
    const offset = plain.readUInt32LE(at + 33);
    const length = plain.readUInt32LE(at + 37);
    const rawLength = plain.readUInt32LE(at + 41);
    if (offset !== expectedOffset) throw bad(`header entry ${blobs.length} starts at ${offset}, expected ${expectedOffset}`);
    if (length < MIN_SEALED_BLOB) throw bad(`header entry ${blobs.length} is too short (${length} bytes)`);
    expectedOffset = offset + length;
    blobs.push({ id: plain.toString('hex', at + 1, at + 33), kind, offset, length, rawLength });
  }
  if (expectedOffset !== blobAreaSize) throw bad(`header describes ${expectedOffset} bytes of blobs but the pack has ${blobAreaSize}`);
  return blobs;
}

/**
 * A sealed blob as the pieces whose concatenation is its stored frame (pack
 * files are written as lists of pieces, so the pieces are never joined on
 * the backup path). `sealedLength` and `joinSealed` give its size and bytes.
 */
export type SealedPieces = readonly Uint8Array[];

export function sealedLength(pieces: SealedPieces): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

/** The whole frame in one buffer (a copy unless it is a single piece). */
export function joinSealed(pieces: SealedPieces): Buffer {
  return pieces.length === 1 ? Buffer.from(pieces[0]!.buffer, pieces[0]!.byteOffset, pieces[0]!.length) : Buffer.concat(pieces);
}

/** The associated data a blob is sealed with: its raw 32-byte id where the repository binds ids (RepoAccess.bindsBlobIds), else none. */
export function blobAad(repo: Pick<RepoAccess, 'bindsBlobIds'>, id: string): Buffer | undefined {
  return repo.bindsBlobIds ? Buffer.from(id, 'hex') : undefined;
}

/** Compresses and encrypts one blob's plaintext into its stored form (`aad`: see blobAad). */
export function sealBlob(cipher: ObjectCipher, level: number, plaintext: Uint8Array, aad: Uint8Array | undefined): SealedPieces {
  return sealEncodedBlob(cipher, encodeTransient(plaintext, level), aad); // sealing copies the transient frame at once
}

/** Seals an already encoded body (codec byte ‖ body), e.g. one a plugin compressed (`aad`: see blobAad). */
export function sealEncodedBlob(cipher: ObjectCipher, encoded: EncodedBody, aad: Uint8Array | undefined): SealedPieces {
  return cipher.sealPieces([Uint8Array.of(encoded.codec), encoded.body], aad);
}

/** How openBlob checks a blob beyond its seal, tag and length. */
export interface OpenBlobOptions {
  /** Exactly rawLength bytes to decode the plaintext into (see decodeBlobPayload). */
  readonly into?: Uint8Array;
  /**
   * Re-hash the plaintext and compare it with the id: always where the
   * repository does not bind ids (format version 1); where it does, only
   * when `rehash` is true — checks and prune do, reads for restores and
   * backups trust the seal (default false).
   */
  readonly rehash?: boolean;
}

/**
 * Decrypts, decompresses and verifies a stored blob. Any mismatch (tag, id
 * bound to the seal, codec, length, or the re-hashed id: see
 * OpenBlobOptions.rehash) gives E_CORRUPT_OBJECT naming the blob and its
 * pack. With `into`, the plaintext is written there and the result is a
 * Buffer over it (see decodeBlobPayload).
 *
 * Why a bound id may skip the hash: where the repository binds ids, the seal
 * authenticates the id with the content, so bytes that open under this id
 * were stored as this id — by a writer that hashed them first (BlobStore
 * never trusts an id). Hashing again on every read cost a restore of 1 GiB
 * about 0.6 s of the host's CPU and 13 % of its time (bench/README.md).
 */
export function openBlob(repo: Pick<RepoAccess, 'keys' | 'cipher' | 'bindsBlobIds'>, sealed: Uint8Array, blob: Pick<PackBlob, 'id' | 'rawLength'>, packName: string, options: OpenBlobOptions = {}): Buffer {
  const what = `blob ${blob.id} in pack ${packName}`;
  const plaintext = decodeBlobPayload(repo.cipher.unseal(sealed, what, blobAad(repo, blob.id)), blob.rawLength, what, options.into);
  if (plaintext.length !== blob.rawLength) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: plaintext is ${plaintext.length} bytes, the index says ${blob.rawLength}`, { subject: blob.id });
  }
  if ((!repo.bindsBlobIds || options.rehash === true) && computeBlobId(repo.keys.id, plaintext) !== blob.id) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: content does not match its id`, { subject: blob.id });
  }
  return plaintext;
}

import { EbmError } from '@ebm/sdk';
import { fileHash } from '../compression/payload-codec';
import { decodePackHeader, PACK_TRAILER_BYTES, sealedHeaderSize } from './pack-format';
import type { PackBlob, RepoAccess } from './pack-format';

/** Bytes read from the end of a pack in one go: enough for ~1400 header entries. */
const TAIL_READ_BYTES = 64 * 1024;

function corrupt(packName: string, why: string): EbmError {
  return new EbmError('E_CORRUPT_OBJECT', `pack ${packName}: ${why}`, { subject: packName });
}

/**
 * Reads and validates a pack's header from its tail (one read for most
 * packs). `size` saves a stat when the caller knows it. Any inconsistency —
 * too short, a length that points outside the file, a failed tag, blobs not
 * tiling the file — gives E_CORRUPT_OBJECT naming the pack.
 */
export async function readPackHeader(repo: Pick<RepoAccess, 'backend' | 'cipher'>, packName: string, size?: number): Promise<PackBlob[]> {
  const handle = { type: 'data' as const, name: packName };
  const fileSize = size ?? (await repo.backend.stat(handle)).size;
  const minSize = sealedHeaderSize(0) + PACK_TRAILER_BYTES;
  if (fileSize < minSize) throw corrupt(packName, `${fileSize} bytes is too short to be a pack`);
  const tailLength = Math.min(fileSize, TAIL_READ_BYTES);
  let tail = await repo.backend.load(handle, fileSize - tailLength, tailLength);
  const headerLength = checkedHeaderLength(tail.readUInt32LE(tail.length - PACK_TRAILER_BYTES), fileSize, packName);
  if (headerLength + PACK_TRAILER_BYTES > tail.length) {
    tail = await repo.backend.load(handle, fileSize - headerLength - PACK_TRAILER_BYTES, headerLength + PACK_TRAILER_BYTES);
  }
  const sealed = tail.subarray(tail.length - PACK_TRAILER_BYTES - headerLength, tail.length - PACK_TRAILER_BYTES);
  const plain = repo.cipher.unseal(sealed, `pack ${packName} header`);
  return decodePackHeader(plain, packName, fileSize - headerLength - PACK_TRAILER_BYTES);
}

/** Parses the header of a whole pack file already in memory (see readPackHeader). */
export function parsePackHeader(repo: Pick<RepoAccess, 'cipher'>, packName: string, pack: Buffer): PackBlob[] {
  if (pack.length < sealedHeaderSize(0) + PACK_TRAILER_BYTES) throw corrupt(packName, `${pack.length} bytes is too short to be a pack`);
  const headerLength = checkedHeaderLength(pack.readUInt32LE(pack.length - PACK_TRAILER_BYTES), pack.length, packName);
  const headerStart = pack.length - PACK_TRAILER_BYTES - headerLength;
  const plain = repo.cipher.unseal(pack.subarray(headerStart, pack.length - PACK_TRAILER_BYTES), `pack ${packName} header`);
  return decodePackHeader(plain, packName, headerStart);
}

function checkedHeaderLength(headerLength: number, fileSize: number, packName: string): number {
  if (headerLength < sealedHeaderSize(0) || headerLength + PACK_TRAILER_BYTES > fileSize) {
    throw corrupt(packName, `header length ${headerLength} does not fit a ${fileSize}-byte pack`);
  }
  return headerLength;
}

/** Loads a whole pack and checks its bytes hash to its name. */
export async function loadVerifiedPack(repo: Pick<RepoAccess, 'backend'>, packName: string): Promise<Buffer> {
  const data = await repo.backend.load({ type: 'data', name: packName });
  const actual = fileHash(data);
  if (actual !== packName) throw corrupt(packName, `content hashes to ${actual}, not to its name (the file is damaged)`);
  return data;
}

/** The sealed bytes of one blob of a pack already in memory (no copy). */
export function sealedBlobOf(pack: Buffer, blob: Pick<PackBlob, 'offset' | 'length' | 'id'>, packName: string): Buffer {
  if (blob.offset + blob.length > pack.length) {
    throw corrupt(packName, `blob ${blob.id} at ${blob.offset}+${blob.length} lies outside the ${pack.length}-byte file`);
  }
  return pack.subarray(blob.offset, blob.offset + blob.length);
}

/** Reads one blob's sealed bytes from storage (a ranged read). */
export async function loadSealedBlob(repo: Pick<RepoAccess, 'backend'>, packName: string, blob: Pick<PackBlob, 'offset' | 'length' | 'id'>): Promise<Buffer> {
  try {
    return await repo.backend.load({ type: 'data', name: packName }, blob.offset, blob.length);
  } catch (err) {
    throw blobReadError(err, packName, blob);
  }
}

/** A read error of a blob's bytes, named for the blob (missing or short pack: its code kept; others as they are). */
export function blobReadError(err: unknown, packName: string, blob: Pick<PackBlob, 'id'>): unknown {
  const e = err as { code?: unknown; message?: unknown };
  if (e !== null && (e.code === 'E_STORAGE_NOT_FOUND' || e.code === 'E_CORRUPT_OBJECT')) {
    return new EbmError(e.code, `blob ${blob.id} in pack ${packName}: ${String(e.message)}`, { subject: blob.id, cause: err });
  }
  return err;
}

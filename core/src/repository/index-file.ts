import { BLOB_ID_PATTERN, EbmError } from '@ebm/sdk';
import type { PackBlob, RepoAccess } from './pack-format';

/**
 * An index file (encrypted JSON under index/<sha256 of the file>): which
 * blobs each pack holds and where. An index lists EVERY blob of each pack it
 * names. It is written only after all the packs it names are durable.
 */
export interface IndexFile {
  readonly v: 1;
  /** Index files this one replaces (written by prune; they are deleted after it). */
  readonly supersedes?: readonly string[];
  readonly packs: readonly IndexedPack[];
}

export interface IndexedPack {
  /** The pack file's name (sha256 hex of its bytes). */
  readonly id: string;
  readonly blobs: readonly PackBlob[];
}

/** Keeps each index file well under V8's string limit (and its memory modest). */
export const MAX_BLOBS_PER_INDEX_FILE = 100_000;

const HEX64 = /^[0-9a-f]{64}$/;

/** Loads and validates one index file; damage gives E_CORRUPT_OBJECT naming it. */
export async function readIndexFile(repo: Pick<RepoAccess, 'loadJsonFile'>, indexId: string): Promise<IndexFile> {
  let value: unknown;
  try {
    value = await repo.loadJsonFile<unknown>('index', indexId);
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    if (e !== null && typeof e === 'object' && e.code === 'E_CORRUPT_OBJECT') {
      throw new EbmError('E_CORRUPT_OBJECT', `index file ${indexId}: ${String(e.message)}`, { subject: indexId, cause: err });
    }
    throw err;
  }
  return validateIndexFile(value, indexId);
}

/** Checks the shape of a parsed index file (the JSON passed its hash, but a bug could still write nonsense). */
export function validateIndexFile(value: unknown, indexId: string): IndexFile {
  const bad = (why: string): EbmError =>
    new EbmError('E_CORRUPT_OBJECT', `index file ${indexId}: ${why}`, { subject: indexId });
  const doc = value as Partial<IndexFile> | null;
  if (typeof doc !== 'object' || doc === null || doc.v !== 1 || !Array.isArray(doc.packs)) throw bad('not a version-1 index');
  if (doc.supersedes !== undefined && (!Array.isArray(doc.supersedes) || !doc.supersedes.every((s) => typeof s === 'string' && HEX64.test(s)))) {
    throw bad('malformed "supersedes"');
  }
  for (const pack of doc.packs as readonly Partial<IndexedPack>[]) {
    if (typeof pack !== 'object' || pack === null || typeof pack.id !== 'string' || !HEX64.test(pack.id) || !Array.isArray(pack.blobs)) {
      throw bad('malformed pack entry');
    }
    for (const b of pack.blobs as readonly Partial<PackBlob>[]) {
      if (
        typeof b !== 'object' || b === null ||
        typeof b.id !== 'string' || !BLOB_ID_PATTERN.test(b.id) ||
        (b.kind !== 'data' && b.kind !== 'tree') ||
        !isUint32(b.offset) || !isUint32(b.length) || !isUint32(b.rawLength)
      ) {
        throw bad(`malformed blob entry in pack ${pack.id}`);
      }
    }
  }
  return doc as IndexFile;
}

function isUint32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}

/**
 * Writes the packs' index as one or more index files (split so no file grows
 * past MAX_BLOBS_PER_INDEX_FILE blobs). Resolves to the new index ids once
 * all are durable. Call only after every named pack is durable.
 */
export async function writeIndexFiles(
  repo: Pick<RepoAccess, 'saveJsonFile'>,
  packs: readonly IndexedPack[],
  supersedes?: readonly string[],
  maxBlobsPerFile = MAX_BLOBS_PER_INDEX_FILE,
): Promise<string[]> {
  const ids: string[] = [];
  let batch: IndexedPack[] = [];
  let blobs = 0;
  const write = async (): Promise<void> => {
    const file: IndexFile = supersedes !== undefined && supersedes.length > 0
      ? { v: 1, supersedes: [...supersedes], packs: batch.map(plainPack) }
      : { v: 1, packs: batch.map(plainPack) };
    ids.push(await repo.saveJsonFile('index', file));
    batch = [];
    blobs = 0;
  };
  for (const pack of packs) {
    if (batch.length > 0 && blobs + pack.blobs.length > maxBlobsPerFile) await write();
    batch.push(pack);
    blobs += pack.blobs.length;
  }
  if (batch.length > 0) await write();
  return ids;
}

/** Copies just the format's fields (callers may hold richer objects). */
/**
 * Keys in sorted order, as canonicalJson writes them: it then serialises each
 * pack natively instead of copying every blob record to sort its keys (the
 * bytes are the same either way).
 */
function plainPack(pack: IndexedPack): IndexedPack {
  return {
    blobs: pack.blobs.map((b) => ({ id: b.id, kind: b.kind, length: b.length, offset: b.offset, rawLength: b.rawLength })),
    id: pack.id,
  };
}

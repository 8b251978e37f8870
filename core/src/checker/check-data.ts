import { fileHash } from '../compression/payload-codec';
import type { PackBlob, RepoAccess } from '../repository/pack-format';
import { openBlob } from '../repository/pack-format';
import { parsePackHeader, sealedBlobOf } from '../repository/pack-reader';
import type { CheckProblem, ReadDataSubset } from './check-report';
import { describeError } from './check-report';

/** Per-blob errors reported for one pack before summarising the rest. */
const MAX_BLOB_ERRORS_PER_PACK = 10;

/** Picks the packs --read-data-subset re-reads. */
export function selectPacks(packs: readonly string[], subset: ReadDataSubset | undefined): string[] {
  const sorted = [...packs].sort();
  if (subset === undefined) return sorted;
  if ('percent' in subset) {
    const want = Math.min(sorted.length, Math.ceil((sorted.length * Math.max(0, Math.min(100, subset.percent))) / 100));
    for (let i = sorted.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
    }
    return sorted.slice(0, want).sort();
  }
  const { nth, of } = subset;
  // Group by the first 32 bits of the name, like restic's n/t: the groups 1..of partition all packs.
  return sorted.filter((name) => parseInt(name.slice(0, 8), 16) % of === nth - 1);
}

/**
 * Re-reads one whole pack: its bytes must hash to its name, its header must
 * parse and agree with the index, and every blob must decrypt, decompress
 * and hash to its id. Returns the number of blobs verified.
 */
export async function readDataOfPack(
  repo: Pick<RepoAccess, 'backend' | 'keys' | 'cipher' | 'bindsBlobIds'>,
  packName: string,
  indexed: readonly PackBlob[],
  report: (problem: CheckProblem) => void,
): Promise<number> {
  const problem = (message: string): void => report({ kind: 'pack', subject: packName, message });
  let data: Buffer;
  try {
    data = await repo.backend.load({ type: 'data', name: packName });
  } catch (err) {
    problem(`pack ${packName} cannot be read: ${describeError(err)}`);
    return 0;
  }
  const actual = fileHash(data);
  if (actual !== packName) problem(`pack ${packName}: content hashes to ${actual}, not to its name (the file is damaged)`);

  let header: PackBlob[] | undefined;
  try {
    header = parsePackHeader(repo, packName, data);
  } catch (err) {
    problem(describeError(err));
  }
  if (header !== undefined) compareWithIndex(packName, header, indexed, problem);

  // Verify the blobs the header lists (or, if it is unreadable, the ones the index lists).
  const blobs = header ?? indexed;
  let verified = 0;
  let failures = 0;
  for (const blob of blobs) {
    try {
      openBlob(repo, sealedBlobOf(data, blob, packName), blob, packName, { rehash: true }); // a check re-hashes even where the seal binds the id
      verified++;
    } catch (err) {
      failures++;
      if (failures <= MAX_BLOB_ERRORS_PER_PACK) report({ kind: 'blob', subject: blob.id, message: describeError(err) });
    }
  }
  if (failures > MAX_BLOB_ERRORS_PER_PACK) {
    problem(`pack ${packName}: ${failures - MAX_BLOB_ERRORS_PER_PACK} more damaged blobs not listed`);
  }
  return verified;
}

function compareWithIndex(packName: string, header: readonly PackBlob[], indexed: readonly PackBlob[], problem: (message: string) => void): void {
  const byId = new Map(indexed.map((b) => [b.id, b]));
  for (const h of header) {
    const i = byId.get(h.id);
    if (i === undefined) {
      problem(`pack ${packName}: header lists blob ${h.id} that the index does not`);
      continue;
    }
    byId.delete(h.id);
    if (i.kind !== h.kind || i.offset !== h.offset || i.length !== h.length || i.rawLength !== h.rawLength) {
      problem(`pack ${packName}: blob ${h.id} is at ${h.offset}+${h.length} (${h.kind}, ${h.rawLength} raw) in the header but ${i.offset}+${i.length} (${i.kind}, ${i.rawLength} raw) in the index`);
    }
  }
  for (const id of byId.keys()) problem(`pack ${packName}: index lists blob ${id} that the pack header does not`);
}

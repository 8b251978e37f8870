import type { Backend } from '../backend/backend';
import type { PackBlob } from '../repository/pack-format';
import { expectedPackSize } from '../repository/pack-format';
import type { CheckProblem } from './check-report';

/** Pack name → file size, for every pack file present. */
export async function listPacks(backend: Backend): Promise<Map<string, number>> {
  const present = new Map<string, number>();
  for await (const info of backend.list('data')) present.set(info.name, info.size);
  return present;
}

/**
 * Every pack an index names must exist with exactly the size its blobs and
 * header imply (an index lists every blob of its packs). Returns the packs
 * no index names: crash leftovers, not errors.
 */
export function checkPackPresence(
  indexed: ReadonlyMap<string, readonly PackBlob[]>,
  present: ReadonlyMap<string, number>,
  report: (problem: CheckProblem) => void,
): string[] {
  for (const [pack, blobs] of indexed) {
    const size = present.get(pack);
    if (size === undefined) {
      report({ kind: 'pack', subject: pack, message: `pack ${pack} is named by the index but missing from storage` });
      continue;
    }
    const expected = expectedPackSize(blobs);
    if (size !== expected) {
      report({ kind: 'pack', subject: pack, message: `pack ${pack} is ${size} bytes, but its ${blobs.length} indexed blobs and header make ${expected} (truncated or damaged)` });
    }
  }
  return [...present.keys()].filter((name) => !indexed.has(name)).sort();
}

/** Two index files naming the same pack must agree on its content. */
export function samePackBlobs(a: readonly PackBlob[], b: readonly PackBlob[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return x.id === y.id && x.kind === y.kind && x.offset === y.offset && x.length === y.length && x.rawLength === y.rawLength;
  });
}

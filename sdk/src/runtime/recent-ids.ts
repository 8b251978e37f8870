import type { BlobId } from '../entry/entry';

/** Ids remembered per job as "already offered" (shipped or known present): about 100 bytes each. */
export const KNOWN_IDS_LIMIT = 65_536;

/**
 * The blob ids a job offered recently, at most KNOWN_IDS_LIMIT, in two
 * generations of half that: when the newer is full it becomes the older and
 * the older is dropped, so recently used ids stay and every operation is
 * O(1). (A Map used as an LRU — delete the first key when full — made each
 * offer skip the deleted slots at the front of V8's table: O(n) per offer
 * once the limit was reached.)
 */
export class RecentIds {
  #newer = new Set<BlobId>();
  #older = new Set<BlobId>();

  /** Remembers `id`; false when it was remembered already (then it is kept in the newer generation). */
  add(id: BlobId): boolean {
    if (this.#newer.has(id)) return false;
    const known = this.#older.has(id);
    if (this.#newer.size >= KNOWN_IDS_LIMIT / 2) {
      this.#older = this.#newer;
      this.#newer = new Set();
    }
    this.#newer.add(id);
    return !known;
  }
}

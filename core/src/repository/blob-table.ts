/** What the index keeps per blob: the pack (a number into the index's pack names) and the blob's place in it. */
export interface BlobEntry {
  readonly pack: number;
  readonly tree: boolean;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

const ID_BYTES = 32;
const ID_WORDS = ID_BYTES / 4;
const CANONICAL_ID = /^[0-9a-f]{64}$/;
const INITIAL_CAPACITY = 1024;

/**
 * Blob id → BlobEntry, in about 70 bytes per blob where a Map of hex strings
 * to objects took about 200 (a backup of 100k small files held ~35 MiB of
 * index on the host's heap; a repository of millions of blobs would hold
 * hundreds of MiB). Ids are kept as their 32 bytes in one buffer, the fields
 * in typed arrays, and an open-addressing hash table (linear probing, at
 * most half full) holds entry numbers, keyed by an id's first 4 bytes: ids
 * are HMAC-SHA-256 outputs, so those are uniformly spread. An id that is not
 * 64 lowercase hex characters (ebm never writes one, but a damaged or foreign
 * index might hold it) goes to a plain Map, so every id behaves as before.
 *
 * Contract: the first entry set for an id stays (`add` returns false for an
 * id it has); entries are never removed (an index only grows until it is
 * loaded again).
 */
export class BlobTable {
  #count = 0;
  #capacity = 0;
  #idWords = new Uint32Array(0);
  #pack = new Uint32Array(0);
  #offset = new Float64Array(0);
  #length = new Float64Array(0);
  #rawLength = new Float64Array(0);
  #tree = new Uint8Array(0);
  /** Entry number + 1, 0 for an empty slot; a power of two, at least twice the capacity. */
  #slots = new Int32Array(0);
  readonly #odd = new Map<string, BlobEntry>();
  readonly #scratch = Buffer.alloc(ID_BYTES);
  readonly #scratchWords = new Uint32Array(this.#scratch.buffer, this.#scratch.byteOffset, ID_WORDS);

  constructor() {
    this.#grow(INITIAL_CAPACITY);
  }

  /** Number of ids. */
  get size(): number {
    return this.#count + this.#odd.size;
  }

  has(id: string): boolean {
    return CANONICAL_ID.test(id) ? this.#find(id) >= 0 : this.#odd.has(id);
  }

  get(id: string): BlobEntry | undefined {
    if (!CANONICAL_ID.test(id)) return this.#odd.get(id);
    const e = this.#find(id);
    if (e < 0) return undefined;
    return { pack: this.#pack[e]!, tree: this.#tree[e] === 1, offset: this.#offset[e]!, length: this.#length[e]!, rawLength: this.#rawLength[e]! };
  }

  /** Adds an id; false (and nothing changes) when it is there already. */
  add(id: string, entry: BlobEntry): boolean {
    if (!CANONICAL_ID.test(id)) {
      if (this.#odd.has(id)) return false;
      this.#odd.set(id, { pack: entry.pack, tree: entry.tree, offset: entry.offset, length: entry.length, rawLength: entry.rawLength });
      return true;
    }
    if (this.#find(id) >= 0) return false; // also leaves the id's bytes in the scratch
    if (this.#count === this.#capacity) this.#grow(this.#capacity * 2);
    const e = this.#count++;
    this.#idWords.set(this.#scratchWords, e * ID_WORDS);
    this.#pack[e] = entry.pack;
    this.#tree[e] = entry.tree ? 1 : 0;
    this.#offset[e] = entry.offset;
    this.#length[e] = entry.length;
    this.#rawLength[e] = entry.rawLength;
    this.#place(e);
    return true;
  }

  /** The entry number of a canonical id, or -1; leaves the id's bytes in the scratch. */
  #find(id: string): number {
    this.#scratch.write(id, 0, ID_BYTES, 'hex');
    const words = this.#scratchWords;
    const mask = this.#slots.length - 1;
    for (let s = words[0]! & mask; ; s = (s + 1) & mask) {
      const slot = this.#slots[s]!;
      if (slot === 0) return -1;
      const e = slot - 1;
      const at = e * ID_WORDS;
      let same = true;
      for (let w = 0; w < ID_WORDS; w++) {
        if (this.#idWords[at + w] !== words[w]) {
          same = false;
          break;
        }
      }
      if (same) return e;
    }
  }

  /** Puts entry `e` (its id already stored) into the first free slot of its probe sequence. */
  #place(e: number): void {
    const mask = this.#slots.length - 1;
    let s = this.#idWords[e * ID_WORDS]! & mask;
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = e + 1;
  }

  #grow(capacity: number): void {
    const idWords = new Uint32Array(capacity * ID_WORDS);
    idWords.set(this.#idWords);
    this.#idWords = idWords;
    this.#pack = grown(this.#pack, new Uint32Array(capacity));
    this.#offset = grown(this.#offset, new Float64Array(capacity));
    this.#length = grown(this.#length, new Float64Array(capacity));
    this.#rawLength = grown(this.#rawLength, new Float64Array(capacity));
    this.#tree = grown(this.#tree, new Uint8Array(capacity));
    this.#capacity = capacity;
    this.#slots = new Int32Array(capacity * 2);
    for (let e = 0; e < this.#count; e++) this.#place(e);
  }
}

function grown<T extends Uint32Array | Float64Array | Uint8Array>(old: T, fresh: T): T {
  fresh.set(old);
  return fresh;
}

import { canonicalJson, compareNames, decodeTree, encodeTree } from './tree-codec';
import type { TreeEntry } from './entry';

/** The definition canonicalJson must keep byte for byte: JSON.stringify over a copy with keys sorted, undefined members dropped. */
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) {
        const member = (v as Record<string, unknown>)[key];
        if (member !== undefined) out[key] = sortKeys(member);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(sortKeys(value));
}

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const CHARS = ['a', 'b', 'Z', '0', 'é', '\u00ff', '\u4e00', '\ud83d\ude00', '\uffff', '\ue000', '"', '\\', '\n', '\u2028'];

describe('tree codec', () => {
  const rand = seeded(7);
  const str = (): string => Array.from({ length: Math.floor(rand() * 5) }, () => CHARS[Math.floor(rand() * CHARS.length)]).join('');
  const value = (depth: number): unknown => {
    const k = rand();
    if (depth > 3 || k < 0.3) return [str(), Math.floor(rand() * 1e6) - 5e5, rand() * 1e20, true, null, undefined, NaN, -0, '17'][Math.floor(rand() * 9)];
    if (k < 0.55) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    const keys = Array.from({ length: Math.floor(rand() * 5) }, () => (rand() < 0.1 ? String(Math.floor(rand() * 20)) : str()));
    if (rand() < 0.5) keys.sort(); // sorted objects take the native path
    return Object.fromEntries(keys.map((key) => [key, value(depth + 1)]));
  };

  it('canonicalJson writes exactly the bytes of its definition, for sorted and unsorted objects alike', () => {
    for (let i = 0; i < 20_000; i++) {
      const v = value(0);
      expect(canonicalJson(v)).toBe(reference(v));
    }
  });

  it('compareNames orders like the UTF-8 bytes, also around surrogate pairs', () => {
    for (let i = 0; i < 20_000; i++) {
      const a = str();
      const b = str();
      expect(Math.sign(compareNames(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))));
    }
  });

  it('encodes a tree the same whatever the key order of its entries', () => {
    const entry: TreeEntry = { name: 'f', kind: 'file', size: 3, mode: 0o100644, content: ['a'.repeat(64)], mtimeNs: '1', tally: undefined };
    const shuffled = Object.fromEntries(Object.entries(entry).reverse()) as unknown as TreeEntry;
    expect(encodeTree([entry]).equals(encodeTree([shuffled]))).toBe(true);
    expect(encodeTree([entry]).toString()).toBe(reference({ v: 1, entries: [entry] }));
  });

  it('decodeTree reads back what encodeTree wrote, names in any script included', () => {
    const names = ['b', 'a', '\ud83d\ude00', '\uffff', '\ue000', 'é', 'Z', 'a b'];
    const entries: TreeEntry[] = names.map((name) => ({ name, kind: 'file', size: 0, content: [] }));
    const decoded = decodeTree(encodeTree(entries));
    expect(decoded.entries.map((e) => e.name)).toEqual([...names].sort(compareNames));
  });

  it('decodeTree refuses a tree that names an entry twice, or whose names are out of order (E_CORRUPT_OBJECT naming the tree)', () => {
    const raw = (entries: readonly Partial<TreeEntry>[]): Buffer => Buffer.from(canonicalJson({ v: 1, entries }));
    const twice = raw([{ name: 'evil', kind: 'dir', subtree: 'a'.repeat(64) }, { name: 'evil', kind: 'symlink', target: '/' }]);
    expect(() => decodeTree(twice, 'tree t1')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', subject: 'tree t1', message: 'tree t1 names "evil" twice: the tree is damaged' }));
    const unsorted = raw([{ name: 'b', kind: 'file' }, { name: 'a', kind: 'file' }]);
    expect(() => decodeTree(unsorted, 'tree t2')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('tree t2 is not sorted by name ("b" before "a")') }));
    // JavaScript's own string order is not the format's: U+FFFF sorts after U+D83D (the lead of an emoji) in UTF-16, before it in UTF-8.
    const utf16Order = raw([{ name: '\ud83d\ude00', kind: 'file' }, { name: '\uffff', kind: 'file' }]);
    expect(() => decodeTree(utf16Order)).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT' }));
  });
});

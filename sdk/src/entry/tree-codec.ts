import { EbmError } from '../errors/ebm-error';
import { ENTRY_KINDS, TreeDocument, TreeEntry } from './entry';

/**
 * Deterministic tree serialisation: canonical JSON (object keys sorted,
 * no whitespace, entries sorted by name in UTF-8 byte order). The same entries
 * always give the same bytes, so unchanged directories deduplicate.
 */
export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.name === sorted[i]!.name) {
      throw new EbmError('E_PROTOCOL', `duplicate entry name in one directory: ${JSON.stringify(sorted[i]!.name)}`);
    }
  }
  for (const e of sorted) assertSafeName(e.name);
  const doc: TreeDocument = { v: 1, entries: sorted };
  return Buffer.from(canonicalJson(doc), 'utf8');
}

/**
 * Parses and validates a tree blob. Names are checked so no entry can escape
 * its directory (E_UNSAFE_PATH), and must be strictly ascending in UTF-8 byte
 * order, as encodeTree writes them (E_CORRUPT_OBJECT otherwise): so no
 * consumer ever sees one name twice in a directory — a restore would
 * otherwise make the same path first one kind of entry, then another (a
 * directory, then a symlink), which only a damaged or hostile repository holds.
 */
export function decodeTree(bytes: Uint8Array, what = 'tree'): TreeDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `${what} is not valid JSON`, { subject: what });
  }
  const d = doc as Partial<TreeDocument>;
  if (typeof d !== 'object' || d === null || d.v !== 1 || !Array.isArray(d.entries)) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what} is not a version-1 tree`, { subject: what });
  }
  let previous: string | undefined;
  for (const e of d.entries) {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !ENTRY_KINDS.includes(e.kind)) {
      throw new EbmError('E_CORRUPT_OBJECT', `${what} has a malformed entry`, { subject: what });
    }
    assertSafeName(e.name);
    if (previous !== undefined && compareNames(previous, e.name) >= 0) {
      const why = previous === e.name ? `names ${JSON.stringify(e.name)} twice` : `is not sorted by name (${JSON.stringify(previous)} before ${JSON.stringify(e.name)})`;
      throw new EbmError('E_CORRUPT_OBJECT', `${what} ${why}: the tree is damaged`, { subject: what });
    }
    previous = e.name;
  }
  return d as TreeDocument;
}

/** One path component: non-empty, not '.' or '..', no '/' and no NUL. */
export function assertSafeName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new EbmError('E_UNSAFE_PATH', `unsafe entry name ${JSON.stringify(name)}: names must be single path components`, { subject: name });
  }
}

/**
 * Compares by UTF-8 bytes, so order does not depend on the JS engine's string
 * collation. Works on UTF-16 code units without encoding: their order is the
 * code points' (so the UTF-8 bytes') order, except that a surrogate
 * (U+D800–DFFF, half of a code point above U+FFFF) must sort after the units
 * U+E000–FFFF, which is corrected at the first difference.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      const xSurrogate = x < 0xe000;
      if (xSurrogate !== (y < 0xe000)) return xSurrogate ? 1 : -1;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * JSON with object keys sorted recursively and undefined members dropped —
 * the bytes of JSON.stringify over a key-sorted copy, written directly
 * (no copy of every object: trees are encoded once per directory per backup).
 */
export function canonicalJson(value: unknown): string {
  return canonical(value) as string;
}

/**
 * True when JSON.stringify(value) already is canonical: every object in it is
 * a plain object whose own keys are in sorted order (none integer-like, none
 * a toJSON), so the native serializer can write it in one go. Tree entries
 * are built that way (see the SDK's TreeWriter); anything else takes the
 * general path.
 */
function alreadyCanonical(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!alreadyCanonical(item, depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let previous: string | undefined;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return false;
    if ((previous !== undefined && !(previous < key)) || key === 'toJSON' || isIndexKey(key)) return false;
    previous = key;
    if (!alreadyCanonical((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * Keys in the order JSON.stringify meets them in a copy built from the sorted
 * keys: integer-like keys ("0", "17") first in numeric order (JavaScript
 * objects always keep those first, which is also how Object.keys lists
 * them), then the others sorted.
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  let indexKeys = 0;
  while (indexKeys < keys.length && isIndexKey(keys[indexKeys]!)) indexKeys++;
  if (indexKeys === 0) return keys.sort();
  return [...keys.slice(0, indexKeys), ...keys.slice(indexKeys).sort()];
}

function isIndexKey(key: string): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < 4294967295 && String(n) === key;
}

/** undefined where JSON.stringify would leave the value out (undefined, functions, symbols). */
function canonical(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (alreadyCanonical(value)) return JSON.stringify(value);
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (canonical(value[i]) ?? 'null');
        return out + ']';
      } else {
        let out = '{';
        let first = true;
        for (const key of sortedKeys(value)) {
          const member = canonical((value as Record<string, unknown>)[key]);
          if (member === undefined) continue;
          out += (first ? '' : ',') + JSON.stringify(key) + ':' + member;
          first = false;
        }
        return out + '}';
      }
    case 'bigint':
      return JSON.stringify(value); // throws the TypeError JSON.stringify gives a BigInt
    default:
      return undefined;
  }
}

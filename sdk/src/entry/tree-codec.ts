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

/** Parses and validates a tree blob. Names are checked so no entry can escape its directory. */
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
  for (const e of d.entries) {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !ENTRY_KINDS.includes(e.kind)) {
      throw new EbmError('E_CORRUPT_OBJECT', `${what} has a malformed entry`, { subject: what });
    }
    assertSafeName(e.name);
  }
  return d as TreeDocument;
}

/** One path component: non-empty, not '.' or '..', no '/' and no NUL. */
export function assertSafeName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new EbmError('E_UNSAFE_PATH', `unsafe entry name ${JSON.stringify(name)}: names must be single path components`, { subject: name });
  }
}

/** Compares by UTF-8 bytes, so order does not depend on the JS engine's string collation. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** JSON with object keys sorted recursively and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

import { isDeepStrictEqual } from 'node:util';
import type { BlobId, TreeEntry } from '../entry/entry';
import { decodeTree } from '../entry/tree-codec';
import type { HarnessRepository } from './harness-host';

/**
 * Explains why two snapshot trees differ: the first entries (by path) whose
 * recorded fields are not the same, e.g. `a/b.txt: mtimeNs "1…" vs "2…"`.
 * Used when two backups of one source give different tree ids.
 */
export async function diffTrees(repo: HarnessRepository, a: BlobId, b: BlobId, limit = 8): Promise<string[]> {
  const out: string[] = [];
  const visit = async (ta: BlobId, tb: BlobId, prefix: string): Promise<void> => {
    if (ta === tb || out.length >= limit) return;
    const [da, db] = [decodeTree(await repo.readBlob(ta)), decodeTree(await repo.readBlob(tb))];
    const byName = new Map(db.entries.map((e) => [e.name, e]));
    for (const ea of da.entries) {
      if (out.length >= limit) return;
      const path = prefix === '' ? ea.name : `${prefix}/${ea.name}`;
      const eb = byName.get(ea.name);
      byName.delete(ea.name);
      if (eb === undefined) {
        out.push(`${path}: only in the first tree`);
        continue;
      }
      for (const field of fieldsThatDiffer(ea, eb)) out.push(`${path}: ${field}`);
      if (ea.subtree !== undefined && eb.subtree !== undefined) await visit(ea.subtree, eb.subtree, path);
    }
    for (const name of byName.keys()) if (out.length < limit) out.push(`${prefix === '' ? name : `${prefix}/${name}`}: only in the second tree`);
  };
  await visit(a, b, '');
  return out.length > 0 ? out : ['the trees differ only in their root metadata or encoding'];
}

function fieldsThatDiffer(a: TreeEntry, b: TreeEntry): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof TreeEntry>;
  for (const key of keys) {
    if (key === 'subtree' || isDeepStrictEqual(a[key], b[key])) continue;
    out.push(key === 'content' ? 'content differs' : `${key} ${JSON.stringify(a[key])} vs ${JSON.stringify(b[key])}`);
  }
  return out;
}

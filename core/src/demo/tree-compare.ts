import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

/**
 * Compares two directory trees the way an operator would after a restore:
 * same paths, kinds, bytes, permission bits, symlink targets, mtimes (to the
 * microsecond) and hardlink grouping. Returns a list of differences (empty
 * when equal); owners are compared only when `owners` is set.
 */
export async function compareTrees(expected: string, actual: string, options: { owners?: boolean } = {}): Promise<string[]> {
  const a = await describeTree(expected, options);
  const b = await describeTree(actual, options);
  const diffs: string[] = [];
  for (const [p, d] of a) {
    const other = b.get(p);
    if (other === undefined) diffs.push(`missing in restore: ${p}`);
    else if (other !== d) diffs.push(`differs: ${p}\n  expected ${d}\n  actual   ${other}`);
  }
  for (const p of b.keys()) if (!a.has(p)) diffs.push(`unexpected in restore: ${p}`);
  return diffs;
}

async function describeTree(root: string, options: { owners?: boolean }): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inodes = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await fs.readdir(dir)).sort();
    for (const name of names) {
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(p, { bigint: true });
      const mode = (Number(st.mode) & 0o7777).toString(8);
      const owner = options.owners ? ` ${st.uid}:${st.gid}` : '';
      const mtimeUs = st.mtimeNs / 1000n;
      if (st.isDirectory()) {
        out.set(r, `dir ${mode}${owner}`);
        await walk(p, r);
      } else if (st.isSymbolicLink()) {
        out.set(r, `symlink -> ${await fs.readlink(p)}${owner}`);
      } else if (st.isFile()) {
        const hash = createHash('sha256').update(await fs.readFile(p)).digest('hex').slice(0, 16);
        let link = '';
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          link = ` linkgroup=${inodes.get(key) ?? r}`;
          if (!inodes.has(key)) inodes.set(key, r);
        }
        out.set(r, `file ${mode}${owner} size=${st.size} sha=${hash} mtime=${mtimeUs}${link}`);
      } else {
        out.set(r, `special ${mode}${owner} mtime=${mtimeUs} rdev=${st.rdev}`);
      }
    }
  };
  await walk(root, '');
  return out;
}

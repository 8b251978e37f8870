import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Generates a deterministic sample tree: nested directories of text-like and
 * binary files of many sizes, empty files, symlinks and a hardlink pair.
 * Deterministic (seeded PRNG) so demo figures are comparable between runs.
 */
export interface SampleTreeOptions {
  readonly files?: number;
  readonly seed?: number;
}

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }
  below(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE(this.next(), i);
    for (let i = n - (n % 4); i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

const WORDS = 'backup restore snapshot chunk pack index tree blob layer translator plugin repository verify encrypt compress stream dataset endpoint image journal'.split(' ');

function text(rng: Prng, size: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < size) {
    const line = `${rng.below(100000)} ${Array.from({ length: 8 }, () => WORDS[rng.below(WORDS.length)]).join(' ')}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('').slice(0, size));
}

export async function generateSampleTree(root: string, options: SampleTreeOptions = {}): Promise<{ files: number; bytes: number }> {
  const rng = new Prng(options.seed ?? 42);
  const count = options.files ?? 1200;
  let bytes = 0;
  await fs.mkdir(root, { recursive: true });
  const dirs = ['docs', 'docs/reports', 'docs/reports/2026', 'src', 'src/lib', 'src/lib/util', 'media', 'data', 'data/db', 'home/alice', 'home/bob/notes'];
  for (const d of dirs) await fs.mkdir(path.join(root, d), { recursive: true });
  for (let i = 0; i < count; i++) {
    const dir = dirs[rng.below(dirs.length)]!;
    const roll = rng.below(100);
    const size = roll < 70 ? 200 + rng.below(16000) : roll < 95 ? 20000 + rng.below(200000) : 300000 + rng.below(1500000);
    const content = rng.below(4) === 0 ? rng.bytes(size) : text(rng, size);
    await fs.writeFile(path.join(root, dir, `file-${i}.${roll < 80 ? 'txt' : 'bin'}`), content);
    bytes += size;
  }
  const big = rng.bytes(6 * 1024 * 1024);
  await fs.writeFile(path.join(root, 'media', 'video.raw'), big);
  await fs.writeFile(path.join(root, 'data', 'db', 'log.txt'), text(rng, 4 * 1024 * 1024));
  bytes += big.length + 4 * 1024 * 1024;
  await fs.writeFile(path.join(root, 'docs', 'empty.txt'), '');
  await fs.symlink('reports/2026', path.join(root, 'docs', 'latest'));
  await fs.symlink('/nonexistent/target', path.join(root, 'docs', 'dangling'));
  await fs.link(path.join(root, 'media', 'video.raw'), path.join(root, 'home', 'alice', 'video-hardlink.raw'));
  await fs.chmod(path.join(root, 'home', 'bob', 'notes'), 0o700);
  return { files: count + 4, bytes };
}

/** Changes about `fraction` of the files: modifies half, adds a quarter, deletes a quarter. */
export async function mutateSampleTree(root: string, fraction = 0.01, seed = 7): Promise<{ modified: number; added: number; deleted: number }> {
  const rng = new Prng(seed);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.startsWith('file-')) files.push(p);
    }
  };
  await walk(root);
  files.sort();
  const n = Math.max(4, Math.round(files.length * fraction));
  let modified = 0;
  let added = 0;
  let deleted = 0;
  for (let i = 0; i < n; i++) {
    const victim = files.splice(rng.below(files.length), 1)[0]!;
    const action = i % 4;
    if (action <= 1) {
      await fs.appendFile(victim, text(rng, 100 + rng.below(2000)));
      modified++;
    } else if (action === 2) {
      await fs.writeFile(`${victim}.new`, text(rng, 500 + rng.below(5000)));
      added++;
    } else {
      await fs.rm(victim);
      deleted++;
    }
  }
  return { modified, added, deleted };
}

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Stats } from 'node:fs';
import type { OptionValue } from '@ebm/sdk';

/**
 * Remembers the SHA-256 of each file of an immutable layer between
 * discoveries, so that the layer's tree digest — its identity, computed on
 * every backup of every endpoint built on it — costs a walk with lstat, not a
 * read of every byte. A file's hash is reused only when its inode, size,
 * mtime and ctime are what they were (the rule of git's index and of the
 * filesystem translator's incrementals; user space cannot set ctime back).
 *
 * One cache file per layer directory, under `$XDG_CACHE_HOME/ebm/layer-digests/`
 * (option `digest-cache`: another directory, or `off`). It holds only the
 * files of the last walk. A missing, unreadable or foreign file is an empty
 * cache; failing to save one only costs the next discovery a full read.
 */
export class ContentHashCache {
  readonly #file: string | undefined;
  readonly #root: string;
  readonly #before: Map<string, readonly [string, string]>;
  readonly #after = new Map<string, readonly [string, string]>();
  hits = 0;
  misses = 0;

  private constructor(root: string, file: string | undefined, before: Map<string, readonly [string, string]>) {
    this.#root = root;
    this.#file = file;
    this.#before = before;
  }

  /** The cache of `root`, per the plugin's `digest-cache` option. */
  static open(root: string, options: Readonly<Record<string, OptionValue>>): ContentHashCache {
    const setting = options['digest-cache'];
    if (setting === 'off') return new ContentHashCache(root, undefined, new Map());
    const dir = typeof setting === 'string' && setting !== '' ? setting : path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'ebm', 'layer-digests');
    const file = path.join(dir, `${createHash('sha256').update(path.resolve(root)).digest('hex')}.json`);
    return new ContentHashCache(root, file, readCache(file, root));
  }

  /** The remembered hash of `relPath`, when the file is unchanged; else undefined. */
  lookup(relPath: string, st: Stats): string | undefined {
    const hit = this.#before.get(relPath);
    if (hit !== undefined && hit[0] === keyOf(st)) {
      this.hits++;
      this.#after.set(relPath, hit);
      return hit[1];
    }
    this.misses++;
    return undefined;
  }

  store(relPath: string, st: Stats, sha256: string): void {
    this.#after.set(relPath, [keyOf(st), sha256]);
  }

  /**
   * Writes what this walk saw (atomically: a temporary file renamed over the
   * old one); nothing when the walk met exactly the remembered files, all
   * unchanged (the common case for a base image, checked on every endpoint backup).
   */
  save(): void {
    if (this.#file === undefined) return;
    if (this.misses === 0 && this.hits === this.#before.size && this.#after.size === this.#before.size) return;
    const tmp = `${this.#file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(tmp, JSON.stringify({ v: 1, root: this.#root, files: Object.fromEntries(this.#after) }), { mode: 0o600 });
      fs.renameSync(tmp, this.#file);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
}

function keyOf(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function readCache(file: string, root: string): Map<string, readonly [string, string]> {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { v?: unknown; root?: unknown; files?: Record<string, unknown> };
    if (doc.v !== 1 || doc.root !== root || typeof doc.files !== 'object' || doc.files === null) return new Map();
    const out = new Map<string, readonly [string, string]>();
    for (const [p, v] of Object.entries(doc.files)) {
      if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && /^[0-9a-f]{64}$/.test(v[1])) out.set(p, [v[0], v[1]]);
    }
    return out;
  } catch {
    return new Map();
  }
}

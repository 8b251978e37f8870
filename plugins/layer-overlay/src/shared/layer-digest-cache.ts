import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Stats } from 'node:fs';
import { throwIfCancelled } from '@ebm/sdk';
import type { OptionValue } from '@ebm/sdk';

/** What a walk of an immutable layer establishes: its tree digest and what it counted. */
export interface LayerIdentity {
  readonly digest: string;
  readonly files: number;
  readonly bytes: number;
}

/**
 * How close to the start of a walk an entry's ctime may be before the entry
 * is "racy": changed again within the same timestamp tick, after the walk's
 * lstat, it would keep the same ctime and pass for unchanged (git's "racy
 * clean" problem). Kernel timestamps come from a coarse clock (a jiffy, up
 * to 10 ms) and some filesystems keep whole seconds (FAT: two), hence two
 * seconds. A racy entry is walked and hashed again next time, never trusted.
 */
const RACY_WINDOW_MS = 2000;
/** How long the check of an unchanged layer runs synchronously before it lets the event loop run (cancellation). */
const EVENT_LOOP_SLICE_MS = 20;

type CachedEntry = readonly [path: string, key: string, sha256: string | null];

/**
 * Remembers, per immutable layer directory, what its last walk saw, so that
 * the layer's identity — its tree digest, computed on every backup of every
 * endpoint built on it — costs at most a walk with lstat, not a read of every
 * byte, and usually not even that:
 *
 * - **Content hashes.** A file's SHA-256 is reused when its device, inode,
 *   size, mtime and ctime are what they were (the rule of git's index
 *   and of the filesystem translator's incrementals; user space cannot set
 *   ctime back).
 * - **The whole identity.** When the root and every entry the last walk saw
 *   still have the same key, the layer is unchanged and its remembered digest
 *   is returned after one lstat per entry: no readdir, no xattr, no hashing.
 *   This is sound because every change that could alter the digest moves a
 *   ctime: an added, removed or renamed entry changes its directory's mtime
 *   and ctime; content, mode, owner, xattrs (overlay marks) or a symlink
 *   target change the entry's ctime or inode.
 *
 * Entries whose ctime falls within RACY_WINDOW_MS of the walk are stored
 * without a hash and make the identity unsaved. One cache file per layer
 * root and `scope` (what else shapes the digest, e.g. a layer map's
 * exclusions), under `$XDG_CACHE_HOME/ebm/layer-digests/` (option
 * `digest-cache`: another directory, or `off`). A missing, unreadable or
 * foreign file is an empty cache; failing to save one only costs the next
 * discovery a full read.
 */
export class LayerDigestCache {
  readonly #file: string | undefined;
  readonly #root: string;
  readonly #scope: string;
  readonly #before: PreviousWalk;
  readonly #walkStartedMs = Date.now();
  readonly #after: CachedEntry[] = [];
  #racy = false;
  hits = 0;
  misses = 0;

  private constructor(root: string, scope: string, file: string | undefined) {
    this.#root = root;
    this.#scope = scope;
    this.#file = file;
    this.#before = file === undefined ? PreviousWalk.EMPTY : PreviousWalk.read(file, root, scope);
  }

  /** The cache of `root`, per the plugin's `digest-cache` option. */
  static open(root: string, options: Readonly<Record<string, OptionValue>>, scope = ''): LayerDigestCache {
    const setting = options['digest-cache'];
    if (setting === 'off') return new LayerDigestCache(root, scope, undefined);
    const dir = typeof setting === 'string' && setting !== '' ? setting : path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'ebm', 'layer-digests');
    const name = createHash('sha256').update(path.resolve(root) + (scope === '' ? '' : `\0${scope}`)).digest('hex');
    return new LayerDigestCache(root, scope, path.join(dir, `${name}.json`));
  }

  /**
   * The identity the last walk established, when nothing under the root has
   * changed since (one lstat per remembered entry); else undefined, and the
   * caller walks and hashes.
   */
  async unchangedIdentity(signal: AbortSignal, op: string): Promise<LayerIdentity | undefined> {
    const { identity, rootKey } = this.#before;
    if (identity === undefined || rootKey !== keyOfPath(this.#root)) return undefined;
    const check = this.#before.checkList(this.#root);
    if (check === undefined) return undefined;
    let sliceStart = Date.now();
    for (let i = 0; i < check.paths.length; i++) {
      // Numbers, not key strings: this loop runs on every backup of every endpoint, and strings are garbage.
      const st = lstatOrNull(check.paths[i]!);
      const k = i * KEY_FIELDS;
      if (st === null || st.ino !== check.keys[k + 1] || st.ctimeMs !== check.keys[k + 4] || st.mtimeMs !== check.keys[k + 3] || st.size !== check.keys[k + 2] || st.dev !== check.keys[k]) return undefined;
      if ((i & 255) === 0 && Date.now() - sliceStart > EVENT_LOOP_SLICE_MS) {
        await yieldToEventLoop();
        throwIfCancelled(signal, op);
        sliceStart = Date.now();
      }
    }
    return identity;
  }

  /** The remembered SHA-256 of file `relPath`, when it is unchanged; else undefined. */
  lookup(relPath: string, st: Stats): string | undefined {
    const sha = this.#before.hashes.get(relPath);
    if (sha !== undefined && sha[0] === keyOf(st)) {
      this.hits++;
      return sha[1];
    }
    this.misses++;
    return undefined;
  }

  /** Records one entry of a full walk, in walk order (`sha256` for files). */
  note(relPath: string, st: Stats, sha256: string | null): void {
    if (this.#file === undefined) return;
    const racy = this.#isRacy(st);
    this.#racy ||= racy;
    this.#after.push([relPath, keyOf(st), racy ? null : sha256]);
  }

  /**
   * Writes what the full walk saw and the identity it established
   * (atomically: a temporary file renamed over the old one); nothing when
   * the file would not change (a walk of an unchanged layer).
   */
  save(identity: LayerIdentity): void {
    if (this.#file === undefined) return;
    const rootStat = lstatOrNull(this.#root);
    if (rootStat === null || this.#isRacy(rootStat)) this.#racy = true;
    const doc = JSON.stringify({
      v: 2,
      root: this.#root,
      scope: this.#scope,
      identity: this.#racy ? null : identity,
      rootKey: rootStat === null ? null : keyOf(rootStat),
      entries: this.#after,
    });
    if (doc === this.#before.raw) return;
    const tmp = `${this.#file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(tmp, doc, { mode: 0o600 });
      fs.renameSync(tmp, this.#file);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }

  #isRacy(st: Stats): boolean {
    return st.ctimeMs >= this.#walkStartedMs - RACY_WINDOW_MS;
  }
}

/** The cache file as the last walk left it. */
class PreviousWalk {
  static readonly EMPTY = new PreviousWalk(undefined, undefined, null, []);
  #hashes: Map<string, readonly [key: string, sha256: string]> | undefined;

  private constructor(
    readonly raw: string | undefined,
    readonly identity: LayerIdentity | undefined,
    readonly rootKey: string | null,
    readonly entries: readonly CachedEntry[],
    hashes?: Map<string, readonly [key: string, sha256: string]>,
  ) {
    this.#hashes = hashes;
  }

  #checkList: { readonly paths: string[]; readonly keys: Float64Array } | null | undefined;

  /**
   * Every remembered entry's absolute path and key as numbers (KEY_FIELDS per
   * entry, keyOf's order), for the check of an unchanged layer; built once per
   * parsed file. Undefined when a key does not parse (the layer is walked).
   */
  checkList(root: string): { readonly paths: string[]; readonly keys: Float64Array } | undefined {
    if (this.#checkList === undefined) {
      const prefix = root.endsWith('/') ? root : `${root}/`;
      const keys = new Float64Array(this.entries.length * KEY_FIELDS);
      const paths = this.entries.map(([rel, key], i) => {
        const fields = key.split(':');
        for (let f = 0; f < KEY_FIELDS; f++) keys[i * KEY_FIELDS + f] = fields.length === KEY_FIELDS ? Number(fields[f]) : Number.NaN;
        return prefix + rel;
      });
      this.#checkList = keys.some(Number.isNaN) ? null : { paths, keys };
    }
    return this.#checkList ?? undefined;
  }

  /** Each file's remembered key and SHA-256 (built when first asked: a check of an unchanged layer never needs it). */
  get hashes(): ReadonlyMap<string, readonly [key: string, sha256: string]> {
    if (this.#hashes === undefined) {
      this.#hashes = new Map();
      for (const [p, key, sha] of this.entries) if (sha !== null && /^[0-9a-f]{64}$/.test(sha)) this.#hashes.set(p, [key, sha]);
    }
    return this.#hashes;
  }

  /** The cache file, parsed (or this worker's parse of it, while the file is the same one: a warm provider in ebm serve reads it once). */
  static read(file: string, root: string, scope: string): PreviousWalk {
    const st = lstatOrNull(file);
    if (st === null) return PreviousWalk.EMPTY;
    const stamp = keyOf(st); // a save renames a new file over it: another inode
    const memo = parsedFiles.get(file);
    if (memo !== undefined && memo.stamp === stamp && memo.root === root && memo.scope === scope) return memo.walk;
    const walk = PreviousWalk.#parse(file, root, scope);
    parsedFiles.delete(file);
    parsedFiles.set(file, { stamp, root, scope, walk });
    for (const oldest of parsedFiles.keys()) {
      if (parsedFiles.size <= PARSED_FILES_KEPT) break;
      parsedFiles.delete(oldest);
    }
    return walk;
  }

  static #parse(file: string, root: string, scope: string): PreviousWalk {
    try {
      const raw = fs.readFileSync(file, 'utf8');
      const doc = JSON.parse(raw) as { v?: unknown; root?: unknown; scope?: unknown; identity?: unknown; rootKey?: unknown; entries?: unknown };
      if (doc.v === 1 && doc.root === root && scope === '') return PreviousWalk.#fromVersion1(doc as { files?: unknown });
      if (doc.v !== 2 || doc.root !== root || doc.scope !== scope || !Array.isArray(doc.entries)) return PreviousWalk.EMPTY;
      const entries = doc.entries as unknown[];
      for (const e of entries) {
        if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'string' || (e[2] !== null && typeof e[2] !== 'string')) return PreviousWalk.EMPTY;
      }
      const identity = isIdentity(doc.identity) ? doc.identity : undefined;
      return new PreviousWalk(raw, identity, typeof doc.rootKey === 'string' ? doc.rootKey : null, entries as CachedEntry[]);
    } catch {
      return PreviousWalk.EMPTY;
    }
  }

  /** A cache written before the identity was remembered (version 1): its content hashes (same key) are still good. */
  static #fromVersion1(doc: { files?: unknown }): PreviousWalk {
    const hashes = new Map<string, readonly [string, string]>();
    for (const [p, v] of Object.entries(typeof doc.files === 'object' && doc.files !== null ? doc.files : {})) {
      if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && /^[0-9a-f]{64}$/.test(v[1])) hashes.set(p, [v[0], v[1]]);
    }
    return new PreviousWalk(undefined, undefined, null, [], hashes);
  }
}

/** How many parsed cache files a worker keeps (one per base layer it checks; a few MiB each for a large base). */
const PARSED_FILES_KEPT = 4;
const parsedFiles = new Map<string, { stamp: string; root: string; scope: string; walk: PreviousWalk }>();

function isIdentity(v: unknown): v is LayerIdentity {
  const o = v as Partial<LayerIdentity> | null;
  return typeof o === 'object' && o !== null && typeof o.digest === 'string' && typeof o.files === 'number' && typeof o.bytes === 'number';
}

/** The fields of a key: dev, ino, size, mtimeMs, ctimeMs. */
const KEY_FIELDS = 5;

function keyOf(st: Stats): string {
  // Mode, owner and xattrs are not in the key: changing them moves ctime. (The key is version 1's too.)
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function lstatOrNull(abs: string): Stats | null {
  try {
    return fs.lstatSync(abs, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null; // ENOTDIR, EACCES: not what was remembered either
  }
}

function keyOfPath(abs: string): string | null {
  const st = lstatOrNull(abs);
  return st === null ? null : keyOf(st);
}

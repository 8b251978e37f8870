import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as path from 'node:path';

/** What a round trip must give back: the source the fixture built, and its directory. */
export interface ExpectedSource {
  /** What was passed to backup. */
  readonly source: string;
  /** The directory the fixture was built in. */
  readonly dir: string;
  readonly fixture: string;
}

/**
 * Compares what a restore wrote into `restoredTarget` with the source.
 * Returns the differences as readable lines (empty, `true` or nothing:
 * equal; `false`: differs without details), or throws.
 */
export type SourceEquality = (expected: ExpectedSource, restoredTarget: string) => Promise<readonly string[] | boolean | void> | readonly string[] | boolean | void;

export interface FileEqualityOptions {
  /** Also compare permission bits (mode & 0o7777). Default false. */
  readonly mode?: boolean;
  /** Also compare modification times, to the microsecond. Default false. */
  readonly mtime?: boolean;
  /** Also compare owner uid and gid. Default false. */
  readonly owner?: boolean;
}

/**
 * The default equality, for translators whose source is a file or a
 * directory and whose restore recreates it: a directory source is compared
 * with the target's contents, a file source with `target/<its name>`. Kinds,
 * names, file bytes and symlink targets always; modes, mtimes and owners on
 * request.
 */
export function fileEquality(options: FileEqualityOptions = {}): SourceEquality {
  return async (expected, target) => {
    const st = await fsp.lstat(expected.source);
    if (st.isDirectory()) return compareDirectories(expected.source, target, options);
    const name = path.basename(expected.source);
    const extra = (await fsp.readdir(target)).filter((n) => n !== name);
    const diffs = await compareEntry(expected.source, path.join(target, name), name, options);
    return [...diffs, ...extra.map((n) => `${n}: restored, but the source was the single file ${name}`)];
  };
}

/** Every difference between the trees under `expected` and `actual` (their roots themselves excluded), at most 20 lines. */
export async function compareDirectories(expected: string, actual: string, options: FileEqualityOptions = {}): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const want = await names(path.join(expected, rel));
    const got = await names(path.join(actual, rel));
    for (const name of got) if (!want.includes(name)) out.push(`${join(rel, name)}: restored, but not in the source`);
    for (const name of want) {
      if (out.length >= 20) return;
      const child = join(rel, name);
      if (!got.includes(name)) {
        out.push(`${child}: missing from the restore`);
        continue;
      }
      out.push(...(await compareEntry(path.join(expected, child), path.join(actual, child), child, options)));
      if ((await isDirectory(path.join(expected, child))) && (await isDirectory(path.join(actual, child)))) await visit(child);
    }
  };
  await visit('');
  return out.slice(0, 20);
}

async function compareEntry(want: string, got: string, rel: string, options: FileEqualityOptions): Promise<string[]> {
  let a: BigIntStats;
  let b: BigIntStats;
  try {
    a = await fsp.lstat(want, { bigint: true });
    b = await fsp.lstat(got, { bigint: true });
  } catch (err) {
    return [`${rel}: ${(err as Error).message}`];
  }
  const out: string[] = [];
  if (kind(a) !== kind(b)) return [`${rel}: restored as a ${kind(b)}, but the source has a ${kind(a)}`];
  if (a.isFile()) {
    if (a.size !== b.size) out.push(`${rel}: ${b.size} bytes restored, the source has ${a.size}`);
    else if ((await sha256(want)) !== (await sha256(got))) out.push(`${rel}: content differs (same size, ${a.size} bytes)`);
  }
  if (a.isSymbolicLink()) {
    const [ta, tb] = [await fsp.readlink(want), await fsp.readlink(got)];
    if (ta !== tb) out.push(`${rel}: symlink to ${tb}, the source points to ${ta}`);
  }
  if (options.mode && !a.isSymbolicLink() && (a.mode & 0o7777n) !== (b.mode & 0o7777n)) {
    out.push(`${rel}: mode ${(b.mode & 0o7777n).toString(8)}, the source has ${(a.mode & 0o7777n).toString(8)}`);
  }
  if (options.mtime && a.mtimeNs / 1000n !== b.mtimeNs / 1000n) out.push(`${rel}: mtime ${b.mtimeNs} ns, the source has ${a.mtimeNs} ns`);
  if (options.owner && (a.uid !== b.uid || a.gid !== b.gid)) out.push(`${rel}: owner ${b.uid}:${b.gid}, the source has ${a.uid}:${a.gid}`);
  return out;
}

function kind(st: BigIntStats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return st.isCharacterDevice() ? 'character device' : 'block device';
}

async function isDirectory(p: string): Promise<boolean> {
  return fsp.lstat(p).then((st) => st.isDirectory(), () => false);
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return [];
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

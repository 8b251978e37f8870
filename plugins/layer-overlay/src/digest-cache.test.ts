import fs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import provider from './index';
import { ctx } from './testing/contexts';
import { markOpaque } from './testing/overlay-mount';

/**
 * The tree digest of an immutable layer is its identity, computed on every
 * discovery (every backup of every endpoint on that base). With the digest
 * cache, the first discovery reads the layer; a later discovery of the
 * unchanged layer neither reads, lists nor hashes it (one lstat per entry,
 * counted on the fs calls), and gives the same digest as a cacheless one.
 * Every kind of change is still seen.
 *
 * Entries changed within two seconds of a walk are "racy" (a change in the
 * same timestamp tick would keep its ctime) and never trusted, so the layers
 * are made once, up front, and aged past that window (ctime cannot be set
 * back): one wait for the whole file.
 */
describe('digest cache', () => {
  const LAYERS = 10; // one per test: 0-2, 3-8 (the kinds of change), 9 (racy)
  let dir: string;
  const layer = (i: number): { lower: string; upper: string; cache: string } => ({ lower: path.join(dir, `l${i}`, 'lower'), upper: path.join(dir, `l${i}`, 'upper'), cache: path.join(dir, `l${i}`, 'cache') });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-digest-cache-'));
    for (let i = 0; i < LAYERS; i++) {
      const { lower, upper } = layer(i);
      for (let d = 0; d < 5; d++) {
        fs.mkdirSync(path.join(lower, `d${d}`), { recursive: true });
        for (let f = 0; f < 10; f++) fs.writeFileSync(path.join(lower, `d${d}`, `f${f}`), `content ${d}/${f}\n`.repeat(100));
      }
      fs.symlinkSync('d0/f0', path.join(lower, 'link'));
      fs.mkdirSync(upper);
      fs.writeFileSync(path.join(upper, 'mine'), 'upper file');
    }
    await sleep(2100);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const baseDigest = async (i: number, cache: 'off' | 'on' = 'on'): Promise<string> => {
    const { lower, upper, cache: cacheDir } = layer(i);
    const report = await provider.discover(ctx(`overlayfs:lowerdir=${lower},upperdir=${upper}`, { 'digest-cache': cache === 'off' ? 'off' : cacheDir }));
    return report.layers[0]!.digest!;
  };
  /** Counts the fs calls that read file contents and directory listings below `root`. */
  const callsBelow = (root: string): { reads: () => number; listings: () => number } => {
    const below = (p: unknown): boolean => String(p) === root || String(p).startsWith(root + path.sep);
    const reads = jest.spyOn(fs, 'createReadStream');
    const listings = jest.spyOn(fs, 'readdirSync');
    return { reads: () => reads.mock.calls.filter(([p]) => below(p)).length, listings: () => listings.mock.calls.filter(([p]) => below(p)).length };
  };
  const cacheFile = (i: number): string => {
    const [name] = fs.readdirSync(layer(i).cache);
    return path.join(layer(i).cache, name!);
  };

  it('reads the layer once; a later discovery of the unchanged layer reads and lists nothing and gives the same digest', async () => {
    const uncached = await baseDigest(0, 'off');
    const first = callsBelow(layer(0).lower);
    expect(await baseDigest(0)).toBe(uncached);
    expect(first.reads()).toBe(50);
    expect(first.listings()).toBe(6);
    jest.restoreAllMocks();

    const second = callsBelow(layer(0).lower);
    expect(await baseDigest(0)).toBe(uncached);
    expect([second.reads(), second.listings()]).toEqual([0, 0]);
  });

  it('leaves the cache file alone when the layer is unchanged, and rewrites it when a file changed', async () => {
    await baseDigest(1);
    const before = fs.statSync(cacheFile(1));
    await baseDigest(1);
    const after = fs.statSync(cacheFile(1));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]); // not renamed over: no write

    fs.appendFileSync(path.join(layer(1).lower, 'd1', 'f1'), 'more');
    const reads = callsBelow(layer(1).lower);
    expect(await baseDigest(1)).toBe(await baseDigest(1, 'off'));
    expect(reads.reads()).toBe(1 + 50); // the changed file, then the whole cacheless discovery
    expect(fs.statSync(cacheFile(1)).ino).not.toBe(before.ino);
    const doc = JSON.parse(fs.readFileSync(cacheFile(1), 'utf8')) as { entries: Array<[string, string, string | null]> };
    expect(doc.entries).toHaveLength(56); // 5 dirs, 50 files, 1 symlink
  });

  it('reads a file again when it changed, even with the same size and mtime (ctime tells), and ignores a damaged cache', async () => {
    const first = await baseDigest(2);
    const file = path.join(layer(2).lower, 'd2', 'f3');
    const { atime, mtime, size } = fs.statSync(file);
    fs.writeFileSync(file, 'X'.repeat(size));
    fs.utimesSync(file, atime, mtime);
    const reads = callsBelow(layer(2).lower);
    const changed = await baseDigest(2);
    expect(reads.reads()).toBe(1);
    expect(changed).not.toBe(first);
    expect(changed).toBe(await baseDigest(2, 'off'));

    fs.writeFileSync(cacheFile(2), '{ not json');
    expect(await baseDigest(2)).toBe(changed);
  });

  it.each([
    [3, 'a file added deep down', (lower: string) => fs.writeFileSync(path.join(lower, 'd3', 'new'), 'new')],
    [4, 'a file removed', (lower: string) => fs.rmSync(path.join(lower, 'd4', 'f9'))],
    [5, 'a file renamed', (lower: string) => fs.renameSync(path.join(lower, 'd0', 'f5'), path.join(lower, 'd0', 'f5-renamed'))],
    [6, 'a mode changed', (lower: string) => fs.chmodSync(path.join(lower, 'd1', 'f2'), 0o600)],
    [7, 'a directory marked opaque (an xattr)', (lower: string) => markOpaque(path.join(lower, 'd2'))],
    [8, 'a symlink retargeted', (lower: string) => {
      fs.rmSync(path.join(lower, 'link'));
      fs.symlinkSync('d0/f1', path.join(lower, 'link'));
    }],
  ] as const)('layer %i: sees %s', async (i, _what, change) => {
    const before = await baseDigest(i);
    expect(await baseDigest(i)).toBe(before); // the fast path
    change(layer(i).lower);
    const after = await baseDigest(i);
    expect(after).not.toBe(before);
    expect(after).toBe(await baseDigest(i, 'off'));
  });

  it('does not trust entries changed within two seconds of the walk (racy): they are read again', async () => {
    const i = 9;
    const fresh = path.join(layer(i).lower, 'd0', 'fresh');
    fs.writeFileSync(fresh, 'just written');
    await baseDigest(i);
    const reads = callsBelow(layer(i).lower);
    await baseDigest(i);
    expect(reads.reads()).toBe(1); // the fresh file only: the others are hashed from the cache
    expect(reads.listings()).toBe(6); // and the identity was not trusted: a full walk
  });
});

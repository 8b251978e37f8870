import fs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';
import provider from './index';
import { ctx } from './testing/contexts';

/**
 * The tree digest of an immutable layer is its identity, computed on every
 * discovery (every backup of every endpoint on that base). With the digest
 * cache, a second discovery of an unchanged layer reads no file content —
 * counted on the fs calls that read it — and gives the same digest as a
 * cacheless one; a changed file is read again.
 */
describe('digest cache', () => {
  let dir: string;
  let lower: string;
  let upper: string;
  let cacheDir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-digest-cache-'));
    lower = path.join(dir, 'lower');
    upper = path.join(dir, 'upper');
    cacheDir = path.join(dir, 'cache');
    for (let d = 0; d < 5; d++) {
      fs.mkdirSync(path.join(lower, `d${d}`), { recursive: true });
      for (let f = 0; f < 10; f++) fs.writeFileSync(path.join(lower, `d${d}`, `f${f}`), `content ${d}/${f}\n`.repeat(100));
    }
    fs.mkdirSync(upper);
    fs.writeFileSync(path.join(upper, 'mine'), 'upper file');
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const source = (): string => `overlayfs:lowerdir=${lower},upperdir=${upper}`;
  const baseDigest = async (options: Record<string, string>): Promise<string> => {
    const report = await provider.discover(ctx(source(), options));
    return report.layers[0]!.digest!;
  };
  const readsBelow = (root: string): { count: () => number } => {
    const spy = jest.spyOn(fs, 'createReadStream');
    return { count: () => spy.mock.calls.filter(([p]) => String(p).startsWith(root + path.sep)).length };
  };

  it('reads the layer once; later discoveries of the unchanged layer read nothing and give the same digest', async () => {
    const uncached = await baseDigest({ 'digest-cache': 'off' });
    const first = readsBelow(lower);
    expect(await baseDigest({ 'digest-cache': cacheDir })).toBe(uncached);
    expect(first.count()).toBe(50);
    jest.restoreAllMocks();

    const second = readsBelow(lower);
    expect(await baseDigest({ 'digest-cache': cacheDir })).toBe(uncached);
    expect(second.count()).toBe(0);
  });

  it('leaves the cache file alone when the layer is unchanged, and rewrites it when a file changed', async () => {
    await baseDigest({ 'digest-cache': cacheDir });
    const [name] = fs.readdirSync(cacheDir);
    const cacheFile = path.join(cacheDir, name!);
    const before = fs.statSync(cacheFile);
    await baseDigest({ 'digest-cache': cacheDir });
    const after = fs.statSync(cacheFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]); // not renamed over: no write

    fs.appendFileSync(path.join(lower, 'd1', 'f1'), 'more');
    await baseDigest({ 'digest-cache': cacheDir });
    expect(fs.statSync(cacheFile).ino).not.toBe(before.ino);
    const doc = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { files: Record<string, [string, string]> };
    expect(Object.keys(doc.files)).toHaveLength(50);
  });

  it('reads a file again when it changed, even with the same size and mtime (ctime tells), and ignores a damaged cache', async () => {
    await baseDigest({ 'digest-cache': cacheDir });
    const file = path.join(lower, 'd2', 'f3');
    const { atime, mtime, size } = fs.statSync(file);
    fs.writeFileSync(file, 'X'.repeat(size));
    fs.utimesSync(file, atime, mtime);
    const reads = readsBelow(lower);
    const changed = await baseDigest({ 'digest-cache': cacheDir });
    expect(reads.count()).toBe(1);
    expect(changed).toBe(await baseDigest({ 'digest-cache': 'off' }));

    for (const f of fs.readdirSync(cacheDir)) fs.writeFileSync(path.join(cacheDir, f), '{ not json');
    expect(await baseDigest({ 'digest-cache': cacheDir })).toBe(changed);
  });
});

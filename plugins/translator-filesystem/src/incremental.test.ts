import { randomBytes } from 'node:crypto';
import fs = require('node:fs');
import * as path from 'node:path';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { diffManifests, readManifest } from './testing/tree-manifest';

const fsp = fs.promises;

/**
 * Counts opens of paths below `dir`: every content read starts with one
 * (fs.openSync for small files, fs.promises.open for large ones).
 */
function countOpensBelow(dir: string): { opened: string[]; restore(): void } {
  const opened: string[] = [];
  const note = (file: fs.PathLike): void => {
    const p = String(file);
    if (p.startsWith(dir + path.sep)) opened.push(path.relative(dir, p));
  };
  const openSync = fs.openSync;
  const open = fsp.open;
  const spies = [
    jest.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      note(file);
      return (openSync as (...a: unknown[]) => number)(file, ...rest);
    }) as typeof fs.openSync),
    jest.spyOn(fsp, 'open').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      note(file);
      return (open as (...a: unknown[]) => Promise<unknown>).call(fsp, file, ...rest);
    }) as typeof fsp.open),
  ];
  return { opened, restore: () => spies.forEach((s) => s.mockRestore()) };
}

describe('incremental backup', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('incr');
  });
  afterEach(() => removeAll(work));

  it('reads only files whose size, mtime, ctime or inode changed, and restores the new state', async () => {
    const source = path.join(work, 'src');
    for (let d = 0; d < 4; d++) {
      await fsp.mkdir(path.join(source, `d${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 5; f++) await fsp.writeFile(path.join(source, `d${d}`, f % 2 ? 'sub' : '', `f${f}.bin`), randomBytes(2000 + f * 50_000));
    }
    await fsp.writeFile(path.join(source, 'same-size.txt'), 'aaaa');
    const repo = testRepository();
    const first = await backupOk(repo, { source });
    expect(first.stats).toMatchObject({ files: 21, filesRead: 21, filesReused: 0 });

    // One file gets new content; another is rewritten with the same size and its old mtime put back
    // (only the ctime tells). Everything else is untouched.
    await fsp.writeFile(path.join(source, 'd2/sub/f3.bin'), randomBytes(7000));
    await fsp.writeFile(path.join(source, 'd3/big.bin'), randomBytes(1536 * 1024)); // a new large file (read in pieces)
    const sameSize = path.join(source, 'same-size.txt');
    const { mtime, atime } = await fsp.stat(sameSize);
    await new Promise((r) => setTimeout(r, 20));
    await fsp.writeFile(sameSize, 'bbbb');
    await fsp.utimes(sameSize, atime, mtime);

    const opens = countOpensBelow(source);
    let second;
    try {
      second = await backupOk(repo, { source, parentTree: first.tree });
    } finally {
      opens.restore();
    }
    expect(opens.opened.sort()).toEqual(['d2/sub/f3.bin', 'd3/big.bin', 'same-size.txt']);
    expect(second.stats).toMatchObject({ files: 22, filesRead: 3, filesReused: 19, bytesRead: 7004 + 1536 * 1024 });
    expect(second.warnings).toEqual([]);
    // Only the new content was shipped, plus the trees on the changed path.
    expect(second.outcome.stats.putBytes).toBeLessThan(7004 + 1536 * 1024 + 64 * 1024);

    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: second.tree, target });
    expect(diffManifests(await readManifest(source), await readManifest(target))).toEqual([]);
  });

  it('reuses nothing when the parent tree is absent (a full backup)', async () => {
    const source = path.join(work, 'src');
    await fsp.mkdir(source);
    await fsp.writeFile(path.join(source, 'a'), 'x');
    const repo = testRepository();
    await backupOk(repo, { source });
    const again = await backupOk(repo, { source });
    expect(again.stats).toMatchObject({ filesRead: 1, filesReused: 0 });
    expect(again.outcome.stats.dataPuts).toBe(0); // read again, but deduplicated
  });
});

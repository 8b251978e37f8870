import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { diffManifests, readManifest } from './testing/tree-manifest';

const fsp = fs.promises;

/** Counts fs.promises.open calls on paths below `dir` (every content read starts with one). */
function countOpensBelow(dir: string): { opened: string[]; restore(): void } {
  const opened: string[] = [];
  const original = fsp.open;
  const spy = jest.spyOn(fsp, 'open').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
    const p = String(file);
    if (p.startsWith(dir + path.sep)) opened.push(path.relative(dir, p));
    return (original as (...args: unknown[]) => Promise<unknown>).call(fsp, file, ...rest);
  }) as typeof fsp.open);
  return { opened, restore: () => spy.mockRestore() };
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
    expect(opens.opened.sort()).toEqual(['d2/sub/f3.bin', 'same-size.txt']);
    expect(second.stats).toMatchObject({ files: 21, filesRead: 2, filesReused: 19, bytesRead: 7004 });
    expect(second.warnings).toEqual([]);
    // Only the new content was shipped, plus the trees on the changed path.
    expect(second.outcome.stats.dataPuts).toBeLessThanOrEqual(2);

    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: second.tree, target });
    expect(diffManifests(await readManifest(source), await readManifest(target), { ignoreDirMtimes: false })).toEqual([]);
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

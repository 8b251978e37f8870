import { randomBytes } from 'node:crypto';
import fs = require('node:fs');
import * as path from 'node:path';
import { backupOk, failure, removeAll, restoreOk, tempDir, testRepository } from '../testing/harness';
import { readManifest } from '../testing/tree-manifest';
import translator from '../index';

const fsp = fs.promises;

/**
 * Records every path below `dir` that the backup lstat'ed, listed or opened
 * (calls pass through to the real fs; the walk and the file reads use
 * these functions).
 */
function watchFs(dir: string): { statted: string[]; listed: string[]; opened: string[]; restore(): void } {
  const seen = { statted: [] as string[], listed: [] as string[], opened: [] as string[] };
  const below = (file: fs.PathLike, into: string[]): void => {
    const p = String(file);
    if (p.startsWith(dir + path.sep)) into.push(path.relative(dir, p));
  };
  const lstatSync = fs.lstatSync;
  const openSync = fs.openSync;
  const open = fsp.open;
  const readdir = fsp.readdir;
  const spies = [
    jest.spyOn(fs, 'lstatSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      below(file, seen.statted);
      return (lstatSync as (...a: unknown[]) => unknown)(file, ...rest);
    }) as typeof fs.lstatSync),
    jest.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      below(file, seen.opened);
      return (openSync as (...a: unknown[]) => number)(file, ...rest);
    }) as typeof fs.openSync),
    jest.spyOn(fsp, 'open').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      below(file, seen.opened);
      return (open as (...a: unknown[]) => Promise<unknown>).call(fsp, file, ...rest);
    }) as typeof fsp.open),
    jest.spyOn(fsp, 'readdir').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      below(file, seen.listed);
      return (readdir as (...a: unknown[]) => Promise<unknown>).call(fsp, file, ...rest);
    }) as typeof fsp.readdir),
  ];
  return { ...seen, restore: () => spies.forEach((s) => s.mockRestore()) };
}

/** `--paths-from`: exactly the listed entries and their ancestors, on real files. */
describe('backup of a path list (paths-from)', () => {
  let work: string;
  let source: string;
  const list = async (name: string, content: string): Promise<string> => {
    const file = path.join(work, name);
    await fsp.writeFile(file, content);
    return file;
  };
  beforeEach(async () => {
    work = await tempDir('path-list');
    source = path.join(work, 'src');
    for (const d of ['etc/ssh', 'home/ann/docs', 'home/bob', 'usr/bin']) await fsp.mkdir(path.join(source, d), { recursive: true });
    for (const f of ['etc/hosts', 'etc/ssh/sshd_config', 'home/ann/docs/a.txt', 'home/ann/docs/b.txt', 'home/bob/c.txt', 'usr/bin/ls']) {
      await fsp.writeFile(path.join(source, f), randomBytes(3000 + f.length));
    }
    await fsp.chmod(path.join(source, 'home/ann'), 0o750);
  });
  afterEach(() => removeAll(work));

  it('stores the listed entries with their ancestors, and never looks at anything else', async () => {
    const repo = testRepository();
    const paths = await list('paths', 'home/ann/docs/a.txt\n/etc/ssh\n\nhome/bob/\n');
    const watched = watchFs(source);
    let first;
    try {
      first = await backupOk(repo, { source, options: { 'paths-from': paths } });
    } finally {
      watched.restore();
    }
    expect(first.meta?.scan).toEqual({ mode: 'path-list', listed: 3, statted: 7, missing: 0 });
    // Listed: a.txt, etc/ssh (the directory only), home/bob (the directory only); ancestors: home, home/ann, home/ann/docs, etc.
    expect(watched.statted.sort()).toEqual(['etc', 'etc/ssh', 'home', 'home/ann', 'home/ann/docs', 'home/ann/docs/a.txt', 'home/bob']);
    expect(watched.listed).toEqual([]);
    expect(watched.opened).toEqual(['home/ann/docs/a.txt']);
    expect(first.stats).toMatchObject({ files: 1, filesRead: 1 });

    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: first.tree, target });
    const restored = (await readManifest(target)).entries;
    expect(Object.keys(restored).sort()).toEqual(['etc', 'etc/ssh', 'home', 'home/ann', 'home/ann/docs', 'home/ann/docs/a.txt', 'home/bob']);
    const original = (await readManifest(source)).entries;
    // Ancestors keep their real metadata (home/ann is 0750); restored times are exact to the microsecond.
    const micro = (e: (typeof restored)[string] | undefined) => (e === undefined ? e : { ...e, mtimeNs: e.mtimeNs / 1000n });
    for (const p of Object.keys(restored)) expect(micro(restored[p])).toEqual(micro(original[p]));
    expect(restored['home/ann']!.mode).toBe('750');
  });

  it('stays incremental: an unchanged listed file is reused, a changed one read, an unlisted change ignored', async () => {
    const repo = testRepository();
    const paths = await list('paths', ['etc/hosts', 'home/ann/docs/a.txt', 'home/ann/docs/b.txt'].join('\0'));
    const first = await backupOk(repo, { source, options: { 'paths-from': paths } });
    expect(first.stats).toMatchObject({ files: 3, filesRead: 3 });
    await fsp.appendFile(path.join(source, 'home/ann/docs/b.txt'), 'more');
    await fsp.appendFile(path.join(source, 'home/bob/c.txt'), 'not listed');
    const watched = watchFs(source);
    let second;
    try {
      second = await backupOk(repo, { source, parentTree: first.tree, options: { 'paths-from': paths } });
    } finally {
      watched.restore();
    }
    expect(second.stats).toMatchObject({ files: 3, filesRead: 1, filesReused: 2 });
    expect(watched.opened).toEqual(['home/ann/docs/b.txt']);
    expect(watched.statted.some((p) => p.startsWith('home/bob') || p.startsWith('usr'))).toBe(false);
    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: second.tree, target });
    expect(fs.readFileSync(path.join(target, 'home/ann/docs/b.txt'))).toEqual(fs.readFileSync(path.join(source, 'home/ann/docs/b.txt')));
    expect(fs.existsSync(path.join(target, 'home/bob'))).toBe(false);
  });

  it('takes any name from a NUL-separated list, warns about listed paths that are gone, and never follows a symlinked ancestor', async () => {
    await fsp.writeFile(path.join(source, 'home/ann/odd\nname'), 'newline in the name');
    await fsp.mkdir(path.join(work, 'outside'));
    await fsp.writeFile(path.join(work, 'outside/secret'), 'outside the source');
    await fsp.symlink(path.join(work, 'outside'), path.join(source, 'link'));
    const repo = testRepository();
    const paths = await list('paths', ['home/ann/odd\nname', 'gone.txt', 'link/secret', 'etc/hosts/below-a-file'].join('\0'));
    const done = await backupOk(repo, { source, options: { 'paths-from': paths } });
    expect(done.meta?.scan).toMatchObject({ listed: 4, missing: 3 });
    expect(done.warnings.map((w) => [w.path, w.code])).toEqual([
      ['etc/hosts', 'E_SOURCE_NOT_FOUND'], ['gone.txt', 'E_SOURCE_NOT_FOUND'], ['link', 'E_SOURCE_NOT_FOUND'],
    ]);
    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: done.tree, target });
    expect(Object.keys((await readManifest(target)).entries).sort()).toEqual(['etc', 'home', 'home/ann', 'home/ann/odd\nname']);
  });

  it('refuses a list with ".." in a path, a list that cannot be read, and a single-file source', async () => {
    const repo = testRepository();
    const bad = await list('bad', 'etc/../../escape\n');
    expect(failure(await repo.backup(translator, { source, options: { 'paths-from': bad } }))).toMatchObject({ code: 'E_INVALID_OPTION', message: expect.stringContaining('etc/../../escape') });
    expect(failure(await repo.backup(translator, { source, options: { 'paths-from': path.join(work, 'nope') } }))).toMatchObject({ code: 'E_INVALID_OPTION', message: expect.stringContaining('cannot be read') });
    const good = await list('good', 'hosts\n');
    expect(failure(await repo.backup(translator, { source: path.join(source, 'etc/hosts'), options: { 'paths-from': good } }))).toMatchObject({ code: 'E_INVALID_OPTION' });
  });
});

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MemoryRepository, TreeEntry, canonicalJson } from '@ebm/sdk';
import { backupOk, failure, removeAll, restoreOk, tempDir, testRepository } from '../testing/harness';
import translator from '../index';

/** Stores a tree blob exactly as given (no sorting or validation): what a hostile repository could hold. */
function rawTree(repo: MemoryRepository, entries: readonly Partial<TreeEntry>[]): string {
  return repo.putBlob(Buffer.from(canonicalJson({ v: 1, entries })), 'tree');
}

describe('restore never writes outside the target', () => {
  let work: string;
  let target: string;
  let outside: string;
  let repo: MemoryRepository;
  let payload: { content: string[]; size: number };

  beforeEach(async () => {
    work = await tempDir('unsafe');
    target = path.join(work, 'target');
    outside = path.join(work, 'outside');
    await fsp.mkdir(target);
    await fsp.mkdir(outside);
    await fsp.writeFile(path.join(outside, 'precious'), 'original');
    repo = testRepository();
    payload = { content: [repo.putBlob(Buffer.from('PWNED'), 'data')], size: 5 };
  });
  afterEach(() => removeAll(work));

  async function outsideUntouched(): Promise<void> {
    expect((await fsp.readdir(outside)).sort()).toEqual(['precious']);
    expect(await fsp.readFile(path.join(outside, 'precious'), 'utf8')).toBe('original');
    expect((await fsp.readdir(work)).sort()).toEqual(['outside', 'target']);
  }

  it("refuses a snapshot whose entry names try '..' with E_UNSAFE_PATH", async () => {
    const inner = rawTree(repo, [{ name: 'pwned', kind: 'file', ...payload }]);
    const tree = rawTree(repo, [{ name: '..', kind: 'dir', subtree: inner }]);
    const error = failure(await repo.restore(translator, { tree, target }));
    expect(error.code).toBe('E_UNSAFE_PATH');
    await outsideUntouched();
  });

  // A name twice in one directory (a symlink planted before, or between, directories of that
  // name) is refused when the tree is read, before anything is written. SafeTarget's own
  // defence against the same plan is tested directly in safe-target.test.ts.
  it.each([
    [false, 'a symlink before a directory of the same name'],
    [true, 'a symlink before a directory of the same name'],
    [false, 'a symlink between two directories of the same name'],
    [true, 'a symlink between two directories of the same name'],
  ])('refuses a snapshot that names an entry twice, writing nothing (overwrite=%s: %s)', async (overwrite, plan) => {
    const empty = rawTree(repo, []);
    const inner = rawTree(repo, [{ name: 'pwned', kind: 'file', ...payload }]);
    const symlinkThenDir: Partial<TreeEntry>[] = [{ name: 'evil', kind: 'symlink', target: outside }, { name: 'evil', kind: 'dir', subtree: inner }];
    const tree = rawTree(repo, plan.includes('between') ? [{ name: 'evil', kind: 'dir', subtree: empty }, ...symlinkThenDir] : symlinkThenDir);
    const error = failure(await repo.restore(translator, { tree, target, overwrite }));
    expect(error).toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('names "evil" twice') });
    expect(await fsp.readdir(target)).toEqual([]);
    await outsideUntouched();
  });

  it('never links a hardlink to a path outside what this restore wrote', async () => {
    const tree = rawTree(repo, [{ name: 'h', kind: 'hardlink', linkTo: '../outside/precious', ...payload }]);
    await restoreOk(repo, { tree, target });
    const st = await fsp.lstat(path.join(target, 'h'));
    expect(st.isFile() && st.nlink === 1).toBe(true);
    expect(await fsp.readFile(path.join(target, 'h'), 'utf8')).toBe('PWNED');
    await outsideUntouched();
  });

  it('with overwrite, replaces existing symlinks in the target instead of writing through them', async () => {
    const source = path.join(work, 'src-tree');
    await fsp.mkdir(path.join(source, 'docs'), { recursive: true });
    await fsp.writeFile(path.join(source, 'docs/new.txt'), 'inside');
    await fsp.writeFile(path.join(source, 'file.txt'), 'inside too');
    const backup = await backupOk(repo, { source });
    await fsp.rm(source, { recursive: true });
    // The target already holds symlinks where the snapshot has a directory and a file.
    await fsp.symlink(outside, path.join(target, 'docs'));
    await fsp.symlink(path.join(outside, 'precious'), path.join(target, 'file.txt'));

    await restoreOk(repo, { tree: backup.tree, target, overwrite: true });
    expect((await fsp.lstat(path.join(target, 'docs'))).isDirectory()).toBe(true);
    expect(await fsp.readFile(path.join(target, 'docs/new.txt'), 'utf8')).toBe('inside');
    expect((await fsp.lstat(path.join(target, 'file.txt'))).isFile()).toBe(true);
    expect(await fsp.readFile(path.join(target, 'file.txt'), 'utf8')).toBe('inside too');
    await outsideUntouched();
  });

  it('with overwrite, unlinks an existing file instead of truncating it (an outside hardlink to it keeps its bytes)', async () => {
    const source = path.join(work, 'src-tree');
    await fsp.mkdir(source);
    await fsp.writeFile(path.join(source, 'file.txt'), 'new bytes');
    const backup = await backupOk(repo, { source });
    await fsp.rm(source, { recursive: true });
    await fsp.link(path.join(outside, 'precious'), path.join(target, 'file.txt'));

    await restoreOk(repo, { tree: backup.tree, target, overwrite: true });
    expect(await fsp.readFile(path.join(target, 'file.txt'), 'utf8')).toBe('new bytes');
    await outsideUntouched();
  });

  it('without overwrite, stops with E_UNSAFE_PATH at a symlink in the way', async () => {
    const source = path.join(work, 'src-tree');
    await fsp.mkdir(path.join(source, 'docs'), { recursive: true });
    await fsp.writeFile(path.join(source, 'docs/new.txt'), 'inside');
    const backup = await backupOk(repo, { source });
    await fsp.rm(source, { recursive: true });
    await fsp.symlink(outside, path.join(target, 'docs'));

    const error = failure(await repo.restore(translator, { tree: backup.tree, target }));
    expect(error.code).toBe('E_UNSAFE_PATH');
    expect(error.message).toContain('docs');
    await outsideUntouched();
  });
});

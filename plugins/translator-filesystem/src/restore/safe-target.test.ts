import { promises as fsp, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { removeAll, tempDir } from '../testing/harness';
import { SafeTarget } from './safe-target';

/**
 * SafeTarget on real directories. The SDK refuses a tree that names an entry
 * twice before any plugin sees it (decodeTree), so a restore cannot reach
 * these states through a snapshot today; SafeTarget still must not write
 * through a symlink that stands where a directory it verified used to be.
 */
describe('SafeTarget', () => {
  let work: string;
  let outside: string;
  beforeEach(async () => {
    work = await tempDir('safe-target');
    outside = path.join(work, 'outside');
    await fsp.mkdir(outside);
  });
  afterEach(() => removeAll(work));

  it('with overwrite: a verified directory replaced by a leaf, then a symlink, is verified again and replaced, never followed', async () => {
    const target = await SafeTarget.open(path.join(work, 'target'), true);
    target.ensureDir('evil/sub'); // verified: 'evil' and 'evil/sub'
    const leaf = target.prepareLeaf('evil'); // removes the directory 'evil' (and what is below)
    symlinkSync(outside, leaf); // the leaf the caller creates there: a symlink to outside
    const file = target.prepareLeaf('evil/sub/pwned');
    writeFileSync(file, 'x');
    expect(await fsp.readdir(outside)).toEqual([]);
    expect((await fsp.lstat(path.join(target.root, 'evil'))).isDirectory()).toBe(true);
    expect(await fsp.readFile(path.join(target.root, 'evil', 'sub', 'pwned'), 'utf8')).toBe('x');
  });

  it('without overwrite: a symlink where a directory must go stops the restore (E_UNSAFE_PATH), and one where a leaf goes is refused by the exclusive create', async () => {
    const target = await SafeTarget.open(path.join(work, 'target'), false);
    target.ensureDir('dir');
    symlinkSync(outside, path.join(target.root, 'link'));
    expect(() => target.ensureDir('link/below')).toThrow(expect.objectContaining({ code: 'E_UNSAFE_PATH', subject: 'link' }));
    expect(target.prepareLeaf('link')).toBe(path.join(target.root, 'link')); // left in place: the caller's O_EXCL|O_NOFOLLOW create fails on it
    expect(await target.explainExisting('link', path.join(target.root, 'link'))).toMatchObject({ code: 'E_UNSAFE_PATH' });
    expect(await fsp.readdir(outside)).toEqual([]);
  });

  it("refuses '..', absolute and empty components (E_UNSAFE_PATH)", async () => {
    const target = await SafeTarget.open(path.join(work, 'target'), true);
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b']) {
      expect(() => target.prepareLeaf(bad)).toThrow(expect.objectContaining({ code: 'E_UNSAFE_PATH' }));
    }
    expect(await fsp.readdir(work)).toEqual(['outside', 'target']);
  });
});

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compareDirectories, fileEquality } from './file-equality';

describe('the default file equality', () => {
  let root: string;
  beforeEach(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-equality-'));
  });
  afterEach(() => fsp.rm(root, { recursive: true, force: true }));

  async function tree(name: string, files: Record<string, string>): Promise<string> {
    const dir = path.join(root, name);
    for (const [rel, text] of Object.entries(files)) {
      await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await fsp.writeFile(path.join(dir, rel), text);
    }
    return dir;
  }

  it('names every difference: content, missing and extra entries, kinds, symlink targets, modes on request', async () => {
    const a = await tree('a', { 'same.txt': 'x', 'diff.txt': 'abc', 'gone.txt': 'g', 'd/f': 'f' });
    const b = await tree('b', { 'same.txt': 'x', 'diff.txt': 'abd', 'extra.txt': 'e', 'd': 'now a file' });
    await fsp.symlink('same.txt', path.join(a, 'link'));
    await fsp.symlink('diff.txt', path.join(b, 'link'));
    await fsp.chmod(path.join(b, 'same.txt'), 0o600);
    expect(await compareDirectories(a, b)).toEqual([
      'extra.txt: restored, but not in the source',
      'd: restored as a file, but the source has a directory',
      'diff.txt: content differs (same size, 3 bytes)',
      'gone.txt: missing from the restore',
      'link: symlink to diff.txt, the source points to same.txt',
    ]);
    expect(await compareDirectories(a, b, { mode: true })).toContain('same.txt: mode 600, the source has 644');
  });

  it('compares a single-file source with the file of that name in the target', async () => {
    const src = await tree('src', { 'db.bin': 'data' });
    const target = await tree('target', { 'db.bin': 'data', 'db.bin-journal': '' });
    const equal = fileEquality();
    expect(await equal({ source: path.join(src, 'db.bin'), dir: src, fixture: 'f' }, target)).toEqual([
      'db.bin-journal: restored, but the source was the single file db.bin',
    ]);
  });
});

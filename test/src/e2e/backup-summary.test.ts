import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebmOk, tempDir } from '../helpers/cli';

/**
 * The human summary of `ebm backup` names what the translator stores: files,
 * directories and others for the filesystem translator; entries (a stream, a
 * table, …) for the others, whose units are not files.
 */
describe('ebm backup: the human summary', () => {
  let work: string;
  beforeAll(() => {
    work = tempDir('backup-summary');
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('counts files and directories for a directory tree, entries for a stream', async () => {
    const repo = path.join(work, 'repo');
    await ebmOk(['init', '-r', repo]);
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'a');
    fs.writeFileSync(path.join(src, 'sub', 'b.txt'), 'b');
    const tree = await ebmOk(['backup', '-r', repo, src]);
    expect(tree.stderr + tree.stdout).toMatch(/files: 2 \(2 read, 0 unchanged\), dirs: 1, other: 0/);

    fs.writeFileSync(path.join(work, 'dump.sql'), 'a dump\n'.repeat(100));
    const stream = await ebmOk(['backup', '-r', repo, '--translator', 'stream', path.join(work, 'dump.sql'), '--dataset', 'dump']);
    const text = stream.stderr + stream.stdout;
    expect(text).toMatch(/entries: \d+ stored by stream \(\d+ read, 0 reused from the parent\)/);
    expect(text).not.toMatch(/files: /);
  });
});

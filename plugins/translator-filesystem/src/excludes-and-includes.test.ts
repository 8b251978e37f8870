import fs = require('node:fs');
import * as path from 'node:path';
import { MemoryRepository } from '@ebm/sdk';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { readManifest } from './testing/tree-manifest';
import translator from './index';

const fsp = fs.promises;

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fsp.writeFile(path.join(root, rel), text);
  }
}

/** Every path in a snapshot, depth-first, as restore would see it. */
async function snapshotPaths(repo: MemoryRepository, tree: string, work: string): Promise<string[]> {
  const target = await fsp.mkdtemp(path.join(work, 'list-'));
  await restoreOk(repo, { tree, target });
  return Object.keys((await readManifest(target)).entries).sort();
}

describe('excludes', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('excl');
  });
  afterEach(() => removeAll(work));

  it('leaves out paths matching --exclude and --exclude-file patterns, and never lists excluded directories', async () => {
    const source = path.join(work, 'src');
    await writeTree(source, {
      'keep.txt': 'k',
      'debug.log': 'l',
      'app/trace.log': 'l',
      'build/out.o': 'o',
      'app/build': 'a file named build is kept: build/ matches directories only',
      'app/main.ts': 'm',
      'cache/c.bin': 'c',
      'app/cache/kept.bin': 'kept: /cache is anchored at the root',
      'node_modules/dep/index.js': 'd',
    });
    const excludeFile = path.join(work, 'excludes.txt');
    await fsp.writeFile(excludeFile, '# generated\n\n/cache\nnode_modules/\n');
    const listed: string[] = [];
    const original = fsp.readdir;
    const spy = jest.spyOn(fsp, 'readdir').mockImplementation(((dir: fs.PathLike, ...rest: unknown[]) => {
      listed.push(path.relative(source, String(dir)));
      return (original as (...a: unknown[]) => Promise<unknown>).call(fsp, dir, ...rest);
    }) as typeof fsp.readdir);
    const repo = testRepository();
    let backup;
    try {
      backup = await backupOk(repo, { source, options: { exclude: ['*.log', 'build/'], 'exclude-file': [excludeFile] } });
    } finally {
      spy.mockRestore();
    }
    expect(listed.sort()).toEqual(['', 'app', 'app/cache']);
    expect(await snapshotPaths(repo, backup.tree, work)).toEqual(['app', 'app/build', 'app/cache', 'app/cache/kept.bin', 'app/main.ts', 'keep.txt']);
  });

  it('refuses a missing exclude file with E_INVALID_OPTION', async () => {
    const source = path.join(work, 'src');
    await writeTree(source, { a: 'a' });
    const outcome = await testRepository().backup(translator, { source, options: { 'exclude-file': [path.join(work, 'missing')] } });
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_INVALID_OPTION', message: expect.stringContaining('missing') } });
  });
});

describe('partial restore (includes)', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('incl');
  });
  afterEach(() => removeAll(work));

  it('restores only the included paths and their ancestors; a hardlink whose first path is left out gets its own content', async () => {
    const source = path.join(work, 'src');
    await writeTree(source, { 'a/first': 'shared bytes', 'a/other': 'o', 'b/deep/x': 'x', 'b/y': 'y', 'c': 'c' });
    await fsp.link(path.join(source, 'a/first'), path.join(source, 'b/second'));
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: backup.tree, target, includes: ['b/deep', 'b/second'] });
    const manifest = await readManifest(target);
    expect(Object.keys(manifest.entries).sort()).toEqual(['b', 'b/deep', 'b/deep/x', 'b/second']);
    expect(await fsp.readFile(path.join(target, 'b/second'), 'utf8')).toBe('shared bytes');
    expect(manifest.linkGroups).toEqual([]);
  });
});

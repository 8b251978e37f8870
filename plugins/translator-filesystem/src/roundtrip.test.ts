import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { TreeEntry, decodeTree } from '@ebm/sdk';
import { NS_MTIME, makeEveryKindTree } from './testing/every-kind-tree';
import { backupOk, failure, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { diffManifests, readManifest } from './testing/tree-manifest';
import { makeXattrCapableTempDir } from './testing/xattr-dir';
import translator from './index';

describe('filesystem translator: backup and restore of every entry kind', () => {
  let work: string;
  let source: string;
  let target: string;

  beforeAll(async () => {
    work = await makeXattrCapableTempDir('ebm-fs-roundtrip-');
    source = path.join(work, 'source');
    target = path.join(work, 'target');
    await fsp.mkdir(source);
    await makeEveryKindTree(source);
  });
  afterAll(() => removeAll(work));

  it('restores bytes, kinds, modes, owners, ns mtimes, symlinks, hardlinks, special files and xattrs', async () => {
    const repo = testRepository();
    const before = await readManifest(source);
    const backup = await backupOk(repo, { source });
    expect(backup.warnings).toEqual([]);
    expect(backup.stats).toMatchObject({ dirs: 4, files: 12, filesRead: 11, filesReused: 1 /* the empty file needs no read */ });

    // Exact nanoseconds, kinds and hardlink form as stored in the snapshot.
    const root = decodeTree(repo.get(backup.tree)!);
    const byName = new Map(root.entries.map((e) => [e.name, e] as [string, TreeEntry]));
    expect(byName.get('big.bin')).toMatchObject({ kind: 'file', size: 3.5 * 1024 * 1024, mtimeNs: NS_MTIME });
    expect(byName.get('big.bin')).not.toHaveProperty('links');
    expect(byName.get('big.bin')!.content!.length).toBeGreaterThan(3);
    expect(byName.get('null-dev')).toMatchObject({ kind: 'chardev', rdev: 0x103 });
    expect(byName.get('pipe')).toMatchObject({ kind: 'fifo' });
    expect(byName.get('owned')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(backup.root).toMatchObject({ mode: expect.any(Number), mtimeNs: expect.stringMatching(/^\d+$/) });
    const docs = decodeTree(repo.get(byName.get('docs')!.subtree!)!);
    // The walk meets docs/hl-b first (names sorted, depth-first), so hl-a is the second path of the inode.
    const hlB = docs.entries.find((e) => e.name === 'hl-b')!;
    expect(hlB).toMatchObject({ kind: 'file', size: 5000, links: 2 });
    expect(byName.get('hl-a')).toMatchObject({ kind: 'hardlink', linkTo: 'docs/hl-b', size: 5000, content: hlB.content, links: 2 });

    const restore = await restoreOk(repo, { tree: backup.tree, target });
    expect(restore.warnings).toEqual([]);
    const after = await readManifest(target);
    expect(diffManifests(before, after)).toEqual([]);
    expect(after.linkGroups).toEqual([['docs/hl-b', 'hl-a']]);
    expect(after.entries['docs/a.txt']!.xattrs).toBe('user.comment=AAEC/w==');
    expect(after.entries['setuid']!.mode).toBe('4755');
    expect(after.entries['noperm']!.mode).toBe('0');
    // Times come back truncated to whole microseconds (libuv's precision), exactly.
    expect(after.entries['big.bin']!.mtimeNs).toBe(BigInt(NS_MTIME) / 1000n * 1000n);
  });

  it('writes file contents from borrowed pieces (no buffer per piece in its thread), every loan given back', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    const outcome = await repo.restore(translator, { tree: backup.tree, target: path.join(work, 'borrowed') });
    expect(outcome.result.ok).toBe(true);
    expect(diffManifests(await readManifest(source), await readManifest(path.join(work, 'borrowed')))).toEqual([]);
    expect(outcome.stats.loadBlobs).toBeGreaterThan(3);
    expect(outcome.stats.lentBlobs).toBe(outcome.stats.loadBlobs);
    expect(outcome.stats.loanErrors).toBe(0);
  });

  it('backs up a single file as a root holding one entry named after it', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: path.join(source, 'docs/a.txt') });
    expect(decodeTree(repo.get(backup.tree)!).entries.map((e) => [e.name, e.kind])).toEqual([['a.txt', 'file']]);
    const out = path.join(work, 'single');
    await restoreOk(repo, { tree: backup.tree, target: out });
    expect(await fsp.readFile(path.join(out, 'a.txt'))).toEqual(await fsp.readFile(path.join(source, 'docs/a.txt')));
  });

  it('stops a restore with E_CANCELLED when the job is cancelled', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    const outcome = await repo.restore(translator, { tree: backup.tree, target: path.join(work, 'cancelled'), cancelAfterMessages: 3 });
    expect(failure(outcome).code).toBe('E_CANCELLED');
  });

  it('fails with E_SOURCE_NOT_FOUND naming a missing source', async () => {
    const missing = path.join(work, 'no-such-dir');
    const error = failure(await testRepository().backup(translator, { source: missing }));
    expect(error.code).toBe('E_SOURCE_NOT_FOUND');
    expect(error.message).toContain(missing);
  });

  it('restores into an empty target without touching the target directory itself', async () => {
    const out = await tempDir('target-meta');
    try {
      await fsp.chmod(out, 0o711);
      const repo = testRepository();
      const backup = await backupOk(repo, { source: path.join(source, 'docs') });
      await restoreOk(repo, { tree: backup.tree, target: out });
      expect((await fsp.stat(out)).mode & 0o7777).toBe(0o711);
      expect((await fsp.readdir(out)).sort()).toEqual(['a.txt', 'dangling', 'deep', 'hl-b']);
    } finally {
      await removeAll(out);
    }
  });
});

// Counts listxattr calls: the module is replaced before anything loads it (its exports cannot be spied on).
jest.mock('@napi-rs/xattr', () => {
  const actual = jest.requireActual<typeof import('@napi-rs/xattr')>('@napi-rs/xattr');
  return { ...actual, listAttributesSync: jest.fn((p: string) => actual.listAttributesSync(p)) };
});
import fs = require('node:fs');
import * as path from 'node:path';
import * as xattr from '@napi-rs/xattr';
import { backupOk, removeAll, restoreOk, testRepository } from '../testing/harness';
import { diffManifests, readManifest } from '../testing/tree-manifest';
import { makeXattrCapableTempDir } from '../testing/xattr-dir';

/**
 * An incremental keeps a parent entry's xattrs without a listxattr when the
 * entry's inode and ctime are unchanged (setting or removing an xattr moves
 * the ctime), but only when the parent read xattrs at all (its snapshot says
 * `xattrs: true`). What is restored is always the source's current xattrs.
 */
describe('incremental backups and xattrs', () => {
  let work: string;
  beforeEach(async () => {
    work = await makeXattrCapableTempDir('ebm-xattr-reuse-');
  });
  afterEach(() => removeAll(work));

  const listedBelow = (root: string): { paths: () => string[] } => {
    const mock = xattr.listAttributesSync as jest.MockedFunction<typeof xattr.listAttributesSync>;
    mock.mockClear();
    return { paths: () => mock.mock.calls.map(([p]) => path.relative(root, String(p))).filter((p) => p !== '' && !p.startsWith('..')).sort() };
  };

  it('lists xattrs only of entries whose ctime moved, keeps the others\' from the parent, and restores the current ones', async () => {
    const source = path.join(work, 'src');
    fs.mkdirSync(path.join(source, 'docs'), { recursive: true });
    for (const f of ['a.txt', 'b.txt', 'docs/c.txt']) fs.writeFileSync(path.join(source, f), f);
    xattr.setAttributeSync(path.join(source, 'a.txt'), 'user.tag', 'one');
    xattr.setAttributeSync(path.join(source, 'b.txt'), 'user.tag', 'kept');
    const repo = testRepository();
    const first = await backupOk(repo, { source });
    expect(first.meta).toMatchObject({ xattrs: true });

    await new Promise((r) => setTimeout(r, 20)); // a later ctime
    xattr.setAttributeSync(path.join(source, 'a.txt'), 'user.tag', 'two');
    const listed = listedBelow(source);
    const second = await backupOk(repo, { source, parentTree: first.tree, parentMeta: first.meta! });
    expect(listed.paths()).toEqual(['a.txt']); // b.txt, docs and docs/c.txt: kept from the parent (the root itself is always read)

    const target = path.join(work, 'restored');
    fs.mkdirSync(target);
    await restoreOk(repo, { tree: second.tree, target });
    expect(xattr.getAttributeSync(path.join(target, 'a.txt'), 'user.tag')?.toString()).toBe('two');
    expect(xattr.getAttributeSync(path.join(target, 'b.txt'), 'user.tag')?.toString()).toBe('kept');
    expect(diffManifests(await readManifest(source), await readManifest(target))).toEqual([]);
  });

  it('reads every entry\'s xattrs when the parent did not read them, or when no parent metadata is given', async () => {
    const source = path.join(work, 'src');
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, 'b.txt'), 'b');
    xattr.setAttributeSync(path.join(source, 'b.txt'), 'user.tag', 'present');
    const repo = testRepository();
    const withoutXattrs = await backupOk(repo, { source, options: { xattrs: false } });
    expect(withoutXattrs.meta).toMatchObject({ xattrs: false });

    let listed = listedBelow(source);
    const second = await backupOk(repo, { source, parentTree: withoutXattrs.tree, parentMeta: withoutXattrs.meta! });
    expect(listed.paths()).toContain('b.txt');
    const target = path.join(work, 'restored');
    fs.mkdirSync(target);
    await restoreOk(repo, { tree: second.tree, target });
    expect(xattr.getAttributeSync(path.join(target, 'b.txt'), 'user.tag')?.toString()).toBe('present');

    listed = listedBelow(source);
    await backupOk(repo, { source, parentTree: second.tree });
    expect(listed.paths()).toContain('b.txt');
  });
});

import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildExcludeMatcher } from './exclude-matcher';
import { OwnerNames } from './owner-names';
import { reusableContent } from './reuse';

describe('buildExcludeMatcher', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-fs-excl-'));
  });
  afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

  it('matches gitignore-style patterns from options and exclude files', async () => {
    const file = path.join(dir, 'patterns');
    await fsp.writeFile(file, '# comment\n\n*.log\n/cache/\n');
    const m = await buildExcludeMatcher(['build/', 'secret.txt'], [file]);
    expect(m.excludes('a.log', false)).toBe(true);
    expect(m.excludes('deep/b.log', false)).toBe(true);
    expect(m.excludes('cache', true)).toBe(true);
    expect(m.excludes('sub/cache', true)).toBe(false); // anchored to the source root
    expect(m.excludes('build', true)).toBe(true);
    expect(m.excludes('build', false)).toBe(false); // 'build/' only matches directories
    expect(m.excludes('x/secret.txt', false)).toBe(true);
    expect(m.excludes('keep.txt', false)).toBe(false);
  });

  it('refuses a missing exclude file with E_INVALID_OPTION naming it', async () => {
    const missing = path.join(dir, 'nope');
    await expect(buildExcludeMatcher([], [missing])).rejects.toMatchObject({ code: 'E_INVALID_OPTION', message: expect.stringContaining(missing) });
  });
});

describe('OwnerNames', () => {
  it('maps ids to names from passwd/group files and tolerates missing files', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-fs-names-'));
    try {
      await fsp.writeFile(path.join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
      const names = new OwnerNames(path.join(dir, 'passwd'), path.join(dir, 'missing-group'));
      expect(names.user(1000)).toBe('alice');
      expect(names.user(4242)).toBeUndefined();
      expect(names.group(0)).toBeUndefined();
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('reusableContent', () => {
  const stats = { size: 10n, mtimeNs: 5n, ctimeNs: 6n, ino: 7n } as unknown as import('node:fs').BigIntStats;
  const previous = { name: 'f', kind: 'file' as const, size: 10, mtimeNs: '5', ctimeNs: '6', inode: '7', content: ['a'.repeat(64)] };

  it('reuses content only when size, mtime, ctime and inode all match', () => {
    expect(reusableContent(previous, stats)).toEqual({ size: 10, content: previous.content });
    expect(reusableContent({ ...previous, kind: 'hardlink' }, stats)).toEqual({ size: 10, content: previous.content });
    for (const change of [{ size: 11 }, { mtimeNs: '4' }, { ctimeNs: '9' }, { inode: '8' }, { kind: 'symlink' as const }]) {
      expect(reusableContent({ ...previous, ...change }, stats)).toBeUndefined();
    }
    expect(reusableContent(undefined, stats)).toBeUndefined();
  });
});

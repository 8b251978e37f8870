import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';
import { requireRoot } from './run-as-root';

/** Nanosecond mtime given to some entries (restore keeps it to ~1 µs). */
export const NS_MTIME = '1700000000123456789';

/**
 * Writes a tree with every entry kind this translator handles under `root`
 * (which must exist and support user.* xattrs). Needs root for the device
 * node and chown. Sizes: two files span several 1 MiB read pieces.
 */
export async function makeEveryKindTree(root: string): Promise<void> {
  requireRoot('create device nodes and chown files');
  const p = (rel: string): string => path.join(root, rel);
  await fsp.mkdir(p('docs/deep/nested'), { recursive: true });
  await fsp.mkdir(p('empty-dir'));
  await fsp.writeFile(p('docs/a.txt'), randomBytes(10_000));
  await fsp.writeFile(p('docs/deep/nested/b.bin'), randomBytes(100));
  await fsp.writeFile(p('big.bin'), randomBytes(3.5 * 1024 * 1024));
  await fsp.writeFile(p('docs/deep/big2.bin'), randomBytes(4 * 1024 * 1024 + 17));
  await fsp.writeFile(p('empty'), '');
  await fsp.symlink('docs/a.txt', p('link-rel'));
  await fsp.symlink(p('docs/a.txt'), p('link-abs'));
  await fsp.symlink('does/not/exist', p('docs/dangling'));
  await fsp.writeFile(p('hl-a'), randomBytes(5000));
  await fsp.link(p('hl-a'), p('docs/hl-b'));
  execFileSync('mkfifo', [p('pipe')]);
  execFileSync('mknod', [p('null-dev'), 'c', '1', '3']);
  await fsp.writeFile(p('setuid'), 'x');
  await fsp.chmod(p('setuid'), 0o4755);
  await fsp.writeFile(p('private'), 'secret');
  await fsp.chmod(p('private'), 0o600);
  // Restore creates files with their own permissions where the umask allows and fixes up the rest: these two need the fix-up.
  await fsp.writeFile(p('group-writable'), 'shared');
  await fsp.chmod(p('group-writable'), 0o666);
  await fsp.writeFile(p('setgid'), 'g');
  await fsp.chmod(p('setgid'), 0o2755);
  await fsp.writeFile(p('noperm'), 'none');
  await fsp.chmod(p('noperm'), 0o000);
  await fsp.writeFile(p('owned'), 'mine');
  await fsp.chown(p('owned'), 1234, 5678);
  await fsp.lchown(p('link-rel'), 1234, 5678);
  setAttributeSync(p('docs/a.txt'), 'user.comment', Buffer.from([0, 1, 2, 255]));
  setAttributeSync(p('docs'), 'user.dir-note', 'on a directory');
  await fsp.chmod(p('docs/deep'), 0o750);
  // Exact nanosecond times (touch uses utimensat); directories last, after their contents.
  for (const rel of ['docs/a.txt', 'big.bin', 'owned', 'docs/deep', 'empty-dir']) {
    execFileSync('touch', ['-h', '-d', `@${NS_MTIME.slice(0, 10)}.${NS_MTIME.slice(10)}`, p(rel)]);
  }
  execFileSync('touch', ['-h', '-d', '@1600000000.5', p('link-rel')]);
}

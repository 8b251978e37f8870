import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A source tree with every entry kind the filesystem translator supports:
 * nested dirs, files of several sizes (some spanning chunks), an empty file,
 * symlinks (relative, absolute, dangling), a hardlink pair, a fifo, a
 * character device, odd modes, foreign owners and nanosecond mtimes.
 * Device files and owners need root (CI runs as root).
 */
export function makeEveryKindTree(root: string): void {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (device files, chown); CI runs as root');
  const p = (...parts: string[]) => path.join(root, ...parts);
  fs.mkdirSync(p('a', 'b', 'c'), { recursive: true });
  fs.mkdirSync(p('private'), { mode: 0o700 });
  fs.writeFileSync(p('a', 'small.txt'), 'hello, ebm\n');
  fs.writeFileSync(p('a', 'b', 'random.bin'), randomBytes(3 * 1024 * 1024 + 17));
  fs.writeFileSync(p('a', 'b', 'c', 'repeat.txt'), 'the same line again\n'.repeat(200000));
  fs.writeFileSync(p('empty'), '');
  fs.writeFileSync(p('private', 'secret'), 'secret\n', { mode: 0o600 });
  fs.writeFileSync(p('setuid-tool'), '#!/bin/sh\n', { mode: 0o4755 });
  fs.chmodSync(p('setuid-tool'), 0o4755);
  fs.writeFileSync(p('no-perms'), 'locked\n');
  fs.chmodSync(p('no-perms'), 0o000);
  fs.symlinkSync('a/small.txt', p('link-relative'));
  fs.symlinkSync('/etc/hostname', p('link-absolute'));
  fs.symlinkSync('does/not/exist', p('link-dangling'));
  fs.writeFileSync(p('hard-1'), 'linked content\n');
  fs.linkSync(p('hard-1'), p('a', 'hard-2'));
  execFileSync('mkfifo', [p('fifo')]);
  execFileSync('mknod', [p('null-device'), 'c', '1', '3']);
  fs.chownSync(p('a', 'small.txt'), 1234, 5678);
  fs.lchownSync(p('link-relative'), 4321, 8765);
  // nanosecond-precision mtimes (set through touch -d, which uses utimensat)
  execFileSync('touch', ['-m', '-d', '2021-03-04 05:06:07.123456789', p('a', 'small.txt')]);
  execFileSync('touch', ['-m', '-d', '2001-01-01 00:00:00.000000001', p('empty')]);
}

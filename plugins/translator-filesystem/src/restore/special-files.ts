import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { splitDeviceNumber } from './device-numbers';

const run = promisify(execFile);

/**
 * Node has no mkfifo/mknod; the coreutils programs are run directly (argv,
 * no shell). Both refuse to replace an existing path and never follow a
 * symlink in the last component (mknod(2) semantics).
 */
export async function makeFifo(abs: string): Promise<void> {
  await run('mkfifo', ['-m', '600', abs]);
}

/** Creates a character or block device node; needs root (CAP_MKNOD). */
export async function makeDeviceNode(abs: string, kind: 'chardev' | 'blockdev', rdev: number): Promise<void> {
  const { major, minor } = splitDeviceNumber(rdev);
  await run('mknod', ['-m', '600', abs, kind === 'chardev' ? 'c' : 'b', String(major), String(minor)]);
}

import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { EbmError, resolveInside } from '@ebm/sdk';
import { writeAll } from './fd-writer';

/**
 * Where a restored stream goes. `write` resolves once the destination took
 * the bytes (backpressure). `commit` is called only after the stream's hash
 * was verified; `abort` when it was not (or anything failed): a file sink
 * then removes its partial file, a command sink kills its command before it
 * sees the end of its input.
 */
export interface Sink {
  readonly describe: string;
  write(data: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * The host process's standard output. A pipe is reopened through /dev/stdout
 * (a description of its own, with blocking writes on the thread pool); a file
 * or terminal is written through fd 1 itself, so the shell's offset and
 * O_APPEND (`>>`) are honoured.
 */
export function stdoutSink(): Sink {
  let fd = 1;
  let owned = false;
  if (fstatSync(1).isFIFO()) {
    try {
      fd = openSync('/dev/stdout', constants.O_WRONLY);
      owned = true;
    } catch {
      fd = 1;
    }
  }
  const close = (): void => {
    if (owned) closeSync(fd);
    owned = false;
  };
  return {
    describe: 'standard output',
    write: async (data) => {
      try {
        await writeAll(fd, data);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') throw new EbmError('E_CONSUMER_FAILED', 'standard output was closed before the whole stream was written (the reading end of the pipe exited)', { op: 'restore' });
        throw err;
      }
    },
    commit: async () => close(),
    abort: async () => close(),
  };
}

/**
 * A file `name` inside the restore target: written as a hidden temporary file
 * (created exclusively, never through a symlink) and renamed into place only
 * after the hash was verified, so a failed restore leaves no file that looks
 * complete.
 */
export function fileSink(target: string, name: string, overwrite: boolean): Sink {
  mkdirSync(target, { recursive: true }); // the host creates it; a direct caller may not have
  const finalPath = resolveInside(target, name);
  const tempPath = resolveInside(target, `.${name}.ebm-partial-${randomBytes(4).toString('hex')}`);
  if (!overwrite) {
    let exists = true;
    try {
      lstatSync(finalPath);
    } catch {
      exists = false;
    }
    if (exists) throw new EbmError('E_TARGET_NOT_EMPTY', `cannot restore ${finalPath}: it already exists; choose an empty target or pass --overwrite`, { subject: finalPath, op: 'restore' });
  }
  const fd = openSync(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let open = true;
  return {
    describe: finalPath,
    write: (data) => writeAll(fd, data),
    commit: async () => {
      fsyncSync(fd);
      closeSync(fd);
      open = false;
      renameSync(tempPath, finalPath);
    },
    abort: async () => {
      if (open) closeSync(fd);
      open = false;
      try {
        unlinkSync(tempPath);
      } catch {
        // already gone
      }
    },
  };
}

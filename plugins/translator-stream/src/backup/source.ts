import { constants, existsSync, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { SourceInfo } from '../layout';
import type { BackupOptions } from '../options';
import { readFd, readHandle } from './read-fd';
import { Producer } from './producer';

/**
 * What the operator named as the source, resolved:
 * - `--from-command`: ctx.source is the command's argv as a JSON array of
 *   strings (what `ebm backup` passes for the words after `--`), an existing
 *   file's path (one word), or one command line split at white space (no
 *   quoting, no shell);
 * - `--stdin`, or the source '-' or '': standard input;
 * - otherwise a path: a regular file (read to its end — a growing file is
 *   read up to where its end is when the reader gets there) or a named pipe
 *   (read until every writer has closed it).
 */
export type ResolvedSource =
  | { readonly kind: 'command'; readonly argv: readonly string[] }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'path'; readonly path: string };

export function resolveSource(source: string, options: BackupOptions): ResolvedSource {
  const trimmed = source.trim();
  if (options.fromCommand) return { kind: 'command', argv: parseArgv(trimmed) };
  if (trimmed === '' || trimmed === '-') return { kind: 'stdin' };
  if (options.stdin) throw new EbmError('E_USAGE', `--stdin reads standard input, but a source was given too (${source}); give one or the other`);
  if (trimmed.startsWith('[')) throw new EbmError('E_USAGE', `the source ${source} looks like a command: pass --from-command to run it`);
  return { kind: 'path', path: path.resolve(source) };
}

function parseArgv(source: string): string[] {
  if (source.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((w) => typeof w === 'string')) {
      throw new EbmError('E_USAGE', `--from-command: the source ${source} is not a JSON array of strings (the command's argv)`);
    }
    return parsed as string[];
  }
  // `ebm backup` passes a one-word command as it is (an existing path made absolute): keep a path with spaces whole.
  if (existsSync(source)) return [source];
  const words = source.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) throw new EbmError('E_USAGE', '--from-command: no command given; put it after --, e.g. ebm backup -t stream --from-command -- pg_dump mydb');
  return words;
}

/** A file or named pipe opened for reading. */
export interface OpenedPath {
  readonly info: SourceInfo;
  readonly handle: FileHandle;
  /** Size when opened (regular files), for append-only checks. */
  readonly size: number;
  readonly regular: boolean;
}

export async function openPath(absPath: string): Promise<OpenedPath> {
  let handle: FileHandle;
  try {
    // No O_NONBLOCK: a named pipe's open waits for a writer, as `cat fifo` does.
    handle = await fsp.open(absPath, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EbmError('E_SOURCE_NOT_FOUND', `stream source ${absPath} does not exist`, { subject: absPath, op: 'backup' });
    if (code === 'EACCES' || code === 'EPERM') throw new EbmError('E_PERMISSION', `stream source ${absPath} cannot be read: permission denied`, { subject: absPath, op: 'backup' });
    throw new EbmError('E_INVALID_SOURCE', `stream source ${absPath} cannot be opened: ${(err as Error).message}`, { subject: absPath, op: 'backup', cause: err });
  }
  const st = await handle.stat();
  if (st.isDirectory()) {
    await handle.close();
    throw new EbmError('E_INVALID_SOURCE', `stream source ${absPath} is a directory; back it up with the filesystem translator`, { subject: absPath, op: 'backup' });
  }
  const regular = st.isFile();
  return { info: { kind: regular ? 'file' : 'fifo', path: absPath }, handle, size: regular ? st.size : 0, regular };
}

/** Standard input, read in this worker thread without going through the host's process.stdin. */
export function readStdin(signal: AbortSignal): AsyncIterable<Uint8Array> {
  return (async function* () {
    let handle: FileHandle | undefined;
    try {
      // A fresh open file description of the same pipe or file: blocking reads on
      // the thread pool, unaffected by the flags the main thread may have set on fd 0.
      handle = await fsp.open('/dev/stdin', constants.O_RDONLY);
    } catch {
      handle = undefined; // e.g. a socket (ENXIO): read fd 0 itself
    }
    try {
      if (handle !== undefined) yield* readHandle(handle, null, signal);
      else yield* readFd(0, signal);
    } finally {
      await handle?.close();
    }
  })();
}

export { Producer };

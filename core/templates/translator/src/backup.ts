import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BackupContext, BackupOutcome, EbmError, throwIfCancelled } from '@ebm/sdk';

/** Recorded in every snapshot, so a restore knows which format it reads. */
export const FORMAT = { format: 'txt-records', version: 1 } as const;

/**
 * Backs up `ctx.source`, a directory of `.txt` records. Each record becomes a
 * file entry; a record whose size, mtime, ctime and inode are those of the
 * parent snapshot's entry is reused without being read (incremental).
 * Anything else in the directory makes the source invalid.
 */
export async function backupRecords(ctx: BackupContext): Promise<BackupOutcome> {
  const names = await listRecords(ctx.source);
  let bytes = 0;
  for (const [i, name] of names.entries()) {
    throwIfCancelled(ctx.signal, 'backup');
    const file = path.join(ctx.source, name);
    const st = await fsp.lstat(file, { bigint: true });
    const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const entry = { kind: 'file' as const, mode: Number(st.mode), mtimeNs: st.mtimeNs.toString(), meta: { stamp } };
    const previous = await ctx.previous?.lookup(name);
    if (previous?.kind === 'file' && previous.meta?.stamp === stamp && previous.content !== undefined) {
      await ctx.tree.add(name, { ...entry, size: previous.size ?? 0, content: previous.content });
    } else {
      const stored = await ctx.tree.writeContent(readFile(file));
      await ctx.tree.add(name, { ...entry, ...stored });
    }
    bytes += Number(st.size);
    ctx.progress.update({ files: i + 1, bytes, totalFiles: names.length, currentPath: name });
  }
  return { meta: { ...FORMAT } };
}

/**
 * The bytes of a file, opened only when iteration starts and closed however
 * it ends (done, failed, cancelled). A stream created up front would stay
 * open if writeContent failed before reading it, e.g. on a cancel.
 */
async function* readFile(file: string): AsyncGenerator<Uint8Array> {
  const fh = await fsp.open(file, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(256 * 1024);
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** The record names, sorted; typed errors for a missing or malformed source. */
async function listRecords(source: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(source, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') throw new EbmError('E_SOURCE_NOT_FOUND', `record directory ${source} does not exist`, { subject: source });
    if (code === 'ENOTDIR') throw new EbmError('E_INVALID_SOURCE', `${source} is not a directory of .txt records`, { subject: source });
    if (code === 'EACCES' || code === 'EPERM') throw new EbmError('E_PERMISSION', `record directory ${source} cannot be read: permission denied`, { subject: source });
    throw new EbmError('E_INVALID_SOURCE', `record directory ${source} cannot be read: ${(err as Error).message}`, { subject: source, cause: err });
  }
  const stray = entries.find((e) => !e.isFile() || !e.name.endsWith('.txt'));
  if (stray !== undefined) {
    throw new EbmError('E_INVALID_SOURCE', `${path.join(source, stray.name)} is not a .txt record; a record directory holds only .txt files`, { subject: path.join(source, stray.name) });
  }
  return entries.map((e) => e.name).sort();
}

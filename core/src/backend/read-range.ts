import type { promises as fsp } from 'node:fs';
import { EbmError } from '@ebm/sdk';

/** Ranged reads of an open file for LocalBackend: a range past the end is E_CORRUPT_OBJECT naming the file. */

/** An impossible range is a bug in the caller (E_INTERNAL). */
export function checkRange(offset: number, length: number, file: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new EbmError('E_INTERNAL', `${file}: invalid range offset=${offset} length=${length}`, { subject: file });
  }
}

/** `length` bytes at `offset` (to the end without a length), in a buffer of their own. */
export async function readRange(fh: fsp.FileHandle, file: string, offset: number, length: number | undefined): Promise<Buffer> {
  const want = length ?? Math.max(0, (await fh.stat()).size - offset);
  checkRange(offset, want, file);
  const out = Buffer.allocUnsafe(want);
  await readRangeInto(fh, file, offset, out);
  return out;
}

/** Fills `target` from `offset`; a file that ends first is E_CORRUPT_OBJECT. */
export async function readRangeInto(fh: fsp.FileHandle, file: string, offset: number, target: Uint8Array): Promise<void> {
  const want = target.length;
  checkRange(offset, want, file);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(target, got, want - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < want) {
    throw new EbmError('E_CORRUPT_OBJECT', `${file}: file is shorter than expected (wanted ${want} bytes at offset ${offset}, got ${got})`, { subject: file });
  }
}

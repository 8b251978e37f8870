import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs';
import { EbmError, RestoreContext, TreeEntry, throwIfCancelled } from '@ebm/sdk';
import { BlockMap, blockLength, dataBytes, readBlockMap } from './block-map';

/**
 * Granularity of holes on restore: runs of all-zero 4 KiB pages inside a
 * data block are left unwritten too, so the restored file never allocates
 * more than its non-zero data (filesystem blocks are 4 KiB nearly everywhere).
 */
const PAGE = 4096;
/** Contiguous data is gathered up to this size and written with one pwrite. */
const MAX_WRITE_BYTES = 8 * 1024 * 1024;

/**
 * Restores a block image at `abs` (created O_EXCL unless overwriting,
 * O_NOFOLLOW): the file is set to its logical length with ftruncate, so it
 * starts as one hole, and only non-zero data is written, in ascending
 * offsets, adjacent blocks consolidated into sequential writes of up to
 * 8 MiB. Holes of the source stay holes. Returns the open descriptor (the
 * caller applies metadata and closes it) and the logical size.
 *
 * A map this code cannot read, or content that does not add up to the data
 * blocks, is E_CORRUPT_OBJECT (the caller removes the file and reports it).
 */
export async function restoreImage(ctx: RestoreContext, relPath: string, abs: string, entry: TreeEntry, exclusive: boolean): Promise<{ fd: number; bytes: number }> {
  const map = readBlockMap(entry);
  if (typeof map === 'string') {
    throw new EbmError('E_CORRUPT_OBJECT', `${relPath}: its block image cannot be restored: ${map}`, { subject: relPath, op: 'restore' });
  }
  if (!map.consistent) {
    ctx.warn({ path: relPath, code: 'E_SOURCE_CHANGED', message: `${relPath}: restored from a block image recorded as inconsistent (the file kept changing during its backup; it may be torn)` });
  }
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : 0);
  const fd = openSync(abs, flags, 0o600);
  try {
    ftruncateSync(fd, map.size);
    await writeBlocks(fd, ctx.readContent(entry), map, relPath, ctx.signal);
    return { fd, bytes: map.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Walks the content stream block by block (in map order) and writes the non-zero runs. */
async function writeBlocks(fd: number, content: AsyncIterable<Uint8Array>, map: BlockMap, relPath: string, signal: AbortSignal): Promise<void> {
  const run = new RunWriter(fd);
  const records = map.records;
  let r = 0;
  let need = records.length > 0 ? blockLength(records[0]!.index, map.size, map.blockSize) : 0;
  let parts: Uint8Array[] = [];
  let have = 0;
  let total = 0;
  for await (const piece of content) {
    throwIfCancelled(signal, 'restore');
    total += piece.length;
    let at = 0;
    while (at < piece.length) {
      if (r >= records.length) throw tooMuch(relPath, map, total);
      const take = Math.min(need - have, piece.length - at);
      parts.push(piece.subarray(at, at + take));
      have += take;
      at += take;
      if (have === need) {
        const block = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        run.block(records[r]!.index * map.blockSize, block);
        parts = [];
        have = 0;
        r++;
        need = r < records.length ? blockLength(records[r]!.index, map.size, map.blockSize) : 0;
      }
    }
  }
  if (r !== records.length || have !== 0) {
    throw new EbmError('E_CORRUPT_OBJECT', `${relPath}: its block image content has ${total} bytes but its map needs ${dataBytes(map)}`, { subject: relPath, op: 'restore' });
  }
  run.flush();
}

function tooMuch(relPath: string, map: BlockMap, total: number): EbmError {
  return new EbmError('E_CORRUPT_OBJECT', `${relPath}: its block image content has more than the ${dataBytes(map)} bytes its map needs (${total} so far)`, { subject: relPath, op: 'restore' });
}

/**
 * Gathers adjacent non-zero pages into one pending run and writes it when
 * the next data is not adjacent, when it reaches MAX_WRITE_BYTES, or at the
 * end. Zero pages end a run and are never written (they stay holes).
 */
class RunWriter {
  #start = 0;
  #parts: Uint8Array[] = [];
  #length = 0;

  constructor(private readonly fd: number) {}

  block(offset: number, data: Uint8Array): void {
    for (let page = 0; page < data.length; ) {
      // Find the next non-zero page, then how far the non-zero pages run.
      while (page < data.length && isZero(data, page, Math.min(page + PAGE, data.length))) page += PAGE;
      if (page >= data.length) break;
      let end = page;
      while (end < data.length && !isZero(data, end, Math.min(end + PAGE, data.length))) end += PAGE;
      end = Math.min(end, data.length);
      this.#append(offset + page, data.subarray(page, end));
      page = end;
    }
  }

  flush(): void {
    if (this.#length === 0) return;
    const data = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written, this.#start + written);
    this.#parts = [];
    this.#length = 0;
  }

  #append(offset: number, data: Uint8Array): void {
    if (this.#length > 0 && (offset !== this.#start + this.#length || this.#length + data.length > MAX_WRITE_BYTES)) this.flush();
    if (this.#length === 0) this.#start = offset;
    this.#parts.push(data);
    this.#length += data.length;
  }
}

const ZERO_PAGE = new Uint8Array(PAGE);

function isZero(data: Uint8Array, start: number, end: number): boolean {
  return Buffer.from(data.buffer, data.byteOffset + start, end - start).equals(ZERO_PAGE.subarray(0, end - start));
}

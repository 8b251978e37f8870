import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * A run's delta against its key image (a full image of the same run, stored
 * by an earlier backup): one record per page that differs from the key's
 * page at the same position; pages without a record equal the key's.
 *
 * Layout (integers little-endian), records in increasing page order:
 *
 *     record = page:u32 ‖ method:u8 ‖ param:u8 ‖ length:u32 ‖ data[length]
 *
 * `page` is the 0-based page index in the run. Methods:
 *
 * - 1, patches (param 0): `data` = patch*, patch = offset:u32 ‖ length:u32 ‖
 *   bytes — byte ranges of the page, increasing, not overlapping, written
 *   over the key's page. For pages where SQLite changed a few bytes in place.
 * - 2, deflate (param = n): `data` = the page compressed with raw deflate
 *   (RFC 1951, window 32 KiB) using as preset dictionary the key image's
 *   pages page−n … page+n (clipped to the run), concatenated in page order.
 *   For pages SQLite rearranged (a row that grew is moved, a b-tree balance
 *   moves cells between neighbouring pages): deflate finds the moved cells
 *   in the dictionary, so only really new bytes cost space.
 *
 * The repository compresses the blob again; patches compress, deflate data
 * does not grow.
 */
const RECORD_HEADER_BYTES = 10;
const PATCH_HEADER_BYTES = 8;
const METHOD_PATCHES = 1;
const METHOD_DEFLATE = 2;
/** Pages whose patches take at most this many bytes are not deflated (the zlib call costs more than it can save). */
const SMALL_PATCH_BYTES = 128;
/** Differing ranges separated by at most this many equal bytes become one patch (a patch header costs 8). */
const MERGE_GAP_BYTES = PATCH_HEADER_BYTES;
/** Deflate's largest window; the dictionary and the page must fit in it to be fully used. */
const DEFLATE_WINDOW_BYTES = 32 * 1024;
const DEFLATE_LEVEL = 1;
/**
 * Patches never take more than twice the page: each patch holds at least one
 * byte and is followed by more than MERGE_GAP_BYTES equal bytes (or the end).
 */
const MAX_PATCHES_FACTOR = 2;

/**
 * The delta of `pages` (the run now) against `key` (the key image: as many
 * bytes as the pages together), or undefined as soon as it would exceed
 * `limit` bytes (the caller then stores the run as a new key image, without
 * finishing work that cannot pay off). Pages equal to the key's cost one
 * memcmp each. Every changed page is patched; with `deflate`, a page whose
 * patches exceed SMALL_PATCH_BYTES is also deflated against the key, and the
 * smaller of the two is kept (about 2× smaller deltas on scattered row
 * changes, at a zlib call of tens of µs per such page).
 */
export function diffRun(pages: readonly Buffer[], key: Buffer, pageSize: number, limit: number, deflate: boolean): Buffer | undefined {
  if (key.length !== pages.length * pageSize) throw new Error(`a key image of ${key.length} bytes cannot be the key of ${pages.length} pages of ${pageSize} bytes`);
  const neighbours = 3 * pageSize + pageSize <= DEFLATE_WINDOW_BYTES ? 1 : 0;
  // Records are written straight into one buffer: room for `limit` plus one more record of the worst size.
  const out = Buffer.allocUnsafe(Math.min(limit, key.length) + RECORD_HEADER_BYTES + MAX_PATCHES_FACTOR * pageSize);
  let size = 0;
  for (let i = 0; i < pages.length; i++) {
    const page = pages[i]!;
    const old = key.subarray(i * pageSize, (i + 1) * pageSize);
    if (page.equals(old)) continue;
    const at = size + RECORD_HEADER_BYTES;
    let length = encodePatches(page, old, out.subarray(at));
    let method = METHOD_PATCHES;
    let param = 0;
    if (deflate && length > SMALL_PATCH_BYTES) {
      const deflated = deflateRawSync(page, { level: DEFLATE_LEVEL, dictionary: dictionaryOf(key, pages.length, pageSize, i, neighbours) });
      if (deflated.length < length) {
        [method, param, length] = [METHOD_DEFLATE, neighbours, deflated.length];
        deflated.copy(out, at);
      }
    }
    out.writeUInt32LE(i, size);
    out[size + 4] = method;
    out[size + 5] = param;
    out.writeUInt32LE(length, size + 6);
    size = at + length;
    if (size > limit) return undefined;
  }
  return Buffer.from(out.subarray(0, size)); // a copy: the scratch room is not kept
}

/**
 * The run: `key` with `delta` applied, as a new buffer (the key image stays
 * intact: deflate records read their dictionary from it). Throws an Error
 * saying what does not fit the layout; the caller names the run.
 */
export function applyDelta(key: Buffer, delta: Buffer, pageSize: number): Buffer {
  const run = Buffer.from(key);
  const pages = key.length / pageSize;
  let offset = 0;
  let lastPage = -1;
  while (offset < delta.length) {
    if (delta.length - offset < RECORD_HEADER_BYTES) throw new Error(`its delta ends inside a record header at byte ${offset}`);
    const page = delta.readUInt32LE(offset);
    const method = delta[offset + 4]!;
    const param = delta[offset + 5]!;
    const length = delta.readUInt32LE(offset + 6);
    offset += RECORD_HEADER_BYTES;
    if (page <= lastPage || page >= pages || offset + length > delta.length) {
      throw new Error(`its delta has a record for page ${page} (${length} bytes) that does not fit a run of ${pages} pages after page ${lastPage}`);
    }
    const data = delta.subarray(offset, offset + length);
    const target = run.subarray(page * pageSize, (page + 1) * pageSize);
    if (method === METHOD_PATCHES) applyPatches(target, data, page);
    else if (method === METHOD_DEFLATE) inflatePage(target, data, dictionaryOf(key, pages, pageSize, page, param), page);
    else throw new Error(`its delta has a record of unknown method ${method} for page ${page}`);
    offset += length;
    lastPage = page;
  }
  return run;
}

function dictionaryOf(key: Buffer, pages: number, pageSize: number, page: number, neighbours: number): Buffer {
  return key.subarray(Math.max(0, page - neighbours) * pageSize, Math.min(pages, page + neighbours + 1) * pageSize);
}

function inflatePage(target: Buffer, data: Buffer, dictionary: Buffer, page: number): void {
  let bytes: Buffer;
  try {
    bytes = inflateRawSync(data, { dictionary, maxOutputLength: target.length + 1 });
  } catch (err) {
    throw new Error(`the deflate record of page ${page} does not inflate: ${(err as Error).message}`);
  }
  if (bytes.length !== target.length) throw new Error(`the deflate record of page ${page} inflates to ${bytes.length} bytes, not ${target.length}`);
  bytes.copy(target);
}

/**
 * Writes the patches that turn `old` into `page` (same length) into `out`
 * (at least MAX_PATCHES_FACTOR × the page) and returns their length. When
 * both pages are 4-byte aligned, compares and cuts whole 32-bit words (a
 * patch may then carry up to 3 equal bytes at each end): 4× fewer steps on
 * pages SQLite rearranged, where most bytes differ.
 */
function encodePatches(page: Buffer, old: Buffer, out: Buffer): number {
  const n = page.length;
  if ((page.byteOffset & 3) !== 0 || (old.byteOffset & 3) !== 0 || (n & 3) !== 0) return encodeBytePatches(page, old, out);
  const a = new Int32Array(page.buffer, page.byteOffset, n >> 2);
  const b = new Int32Array(old.buffer, old.byteOffset, n >> 2);
  const words = a.length;
  const gapWords = MERGE_GAP_BYTES >> 2;
  let size = 0;
  let w = 0;
  while (w < words) {
    if (a[w] === b[w]) {
      w++;
      continue;
    }
    const start = w;
    let end = w + 1; // one past the last differing word seen
    for (w++; w < words && w - end < gapWords; w++) if (a[w] !== b[w]) end = w + 1;
    size = writePatch(out, size, page, start << 2, end << 2);
    w = end;
  }
  return size;
}

/** encodePatches for unaligned buffers: byte by byte. */
function encodeBytePatches(page: Buffer, old: Buffer, out: Buffer): number {
  const n = page.length;
  let size = 0;
  let i = 0;
  while (i < n) {
    if (page[i] === old[i]) {
      i++;
      continue;
    }
    const start = i;
    let end = i + 1; // one past the last differing byte seen
    for (i++; i < n && i - end < MERGE_GAP_BYTES; i++) if (page[i] !== old[i]) end = i + 1;
    size = writePatch(out, size, page, start, end);
    i = end;
  }
  return size;
}

/** Writes the patch for page bytes [start, end) at `at` in `out`; returns the offset after it. */
function writePatch(out: Buffer, at: number, page: Buffer, start: number, end: number): number {
  out.writeUInt32LE(start, at);
  out.writeUInt32LE(end - start, at + 4);
  return copyBytes(page, start, end, out, at + PATCH_HEADER_BYTES);
}

/** Copies source[start, end) to target at `at`; returns at + the length. Short ranges in JS (a native call costs more). */
function copyBytes(source: Buffer, start: number, end: number, target: Buffer, at: number): number {
  if (end - start >= 64) return at + source.copy(target, at, start, end);
  for (let k = start; k < end; k++) target[at++] = source[k]!;
  return at;
}

function applyPatches(target: Buffer, data: Buffer, page: number): void {
  let offset = 0;
  let lastEnd = 0;
  while (offset < data.length) {
    if (data.length - offset < PATCH_HEADER_BYTES) throw new Error(`the patches of page ${page} end inside a patch header`);
    const at = data.readUInt32LE(offset);
    const length = data.readUInt32LE(offset + 4);
    offset += PATCH_HEADER_BYTES;
    if (length === 0 || at < lastEnd || at + length > target.length || offset + length > data.length) {
      throw new Error(`page ${page} has a patch of ${length} bytes at offset ${at} that does not fit a page of ${target.length} bytes after offset ${lastEnd}`);
    }
    copyBytes(data, offset, offset + length, target, at);
    offset += length;
    lastEnd = at + length;
  }
}

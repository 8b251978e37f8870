import * as path from 'node:path';
import { errnoCode, messageOf } from '../fs-errors';

/** How a backup learned where a file's data is; recorded in the snapshot meta. */
export type ExtentsMethod =
  /** lseek(SEEK_DATA/SEEK_HOLE) through the native helper: holes are not read. */
  | 'seek-data'
  /** Pure fallback: every block is read, all-zero blocks are dropped. */
  | 'zero-scan';

/** A half-open byte range [start, end). */
export type ByteRange = readonly [start: number, end: number];

interface NativeExtents {
  dataExtents(fd: number, size: number): number[];
}

/**
 * The native helper, built by scripts/build-native-extents.js into
 * native/build/Release (relative to this package). Loaded once per worker;
 * when it is missing or fails to load, block mode still works through the
 * pure fallback and says so (`unavailable`).
 */
let native: NativeExtents | undefined;
let unavailable: string | undefined;
let loaded = false;

function loadNative(): NativeExtents | undefined {
  if (loaded) return native;
  loaded = true;
  const file = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'ebm_extents.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon has no ES module form
    const mod = require(file) as Partial<NativeExtents>;
    if (typeof mod.dataExtents !== 'function') throw new Error('it exports no dataExtents function');
    native = mod as NativeExtents;
  } catch (err) {
    unavailable = `native extents helper not loaded (${messageOf(err).split('\n')[0]}); run \`npm run postinstall\` to build it`;
  }
  return native;
}

/** Why the native helper is not in use, or undefined when it is. */
export function nativeExtentsUnavailable(): string | undefined {
  loadNative();
  return unavailable;
}

/**
 * The ranges of `fd` (a regular file of `size` bytes) that may hold data.
 * With `mode` 'auto' and the native helper present, the filesystem's data
 * extents; otherwise (or when the filesystem refuses SEEK_DATA) the whole
 * file. Bytes outside the returned ranges read as zeros.
 */
export function dataRanges(fd: number, size: number, mode: 'auto' | 'scan'): { method: ExtentsMethod; ranges: ByteRange[]; note?: string } {
  const whole: ByteRange[] = size > 0 ? [[0, size]] : [];
  if (mode === 'scan') return { method: 'zero-scan', ranges: whole, note: 'block-mode-extents=scan' };
  const helper = loadNative();
  if (helper === undefined) return { method: 'zero-scan', ranges: whole, note: unavailable };
  let flat: number[];
  try {
    flat = helper.dataExtents(fd, size);
  } catch (err) {
    // EINVAL/ENOTSUP: this filesystem cannot report extents. Anything else is unexpected but never fatal: read everything.
    return { method: 'zero-scan', ranges: whole, note: `SEEK_DATA refused (${errnoCode(err) ?? messageOf(err)})` };
  }
  const ranges: ByteRange[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) ranges.push([flat[i]!, flat[i + 1]!]);
  return { method: 'seek-data', ranges };
}

/**
 * The block indices (ascending) that overlap any of `ranges`: the blocks to
 * read. Blocks entirely inside holes are skipped without being read.
 */
export function* blocksOverlapping(ranges: readonly ByteRange[], blockSize: number): Generator<number> {
  let next = 0;
  for (const [start, end] of ranges) {
    if (end <= start) continue;
    const first = Math.max(next, Math.floor(start / blockSize));
    const last = Math.floor((end - 1) / blockSize);
    for (let i = first; i <= last; i++) yield i;
    next = Math.max(next, last + 1);
  }
}

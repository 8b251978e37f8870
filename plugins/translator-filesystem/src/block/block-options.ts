import { EbmError, OptionValue } from '@ebm/sdk';
import { formatByteSize, parseByteSize } from './byte-size';

/**
 * Block-mode options (manifest names in quotes). A file is backed up as a
 * block image when block mode is on and it is a regular file with one link
 * that matches:
 *   - "block-mode" patterns only: any file matching a pattern;
 *   - "block-mode-min-size" only: any file at least that large;
 *   - both: a file matching a pattern AND at least that large.
 * Everything else is backed up as an ordinary (content-defined chunked) file.
 */
export interface BlockModeOptions {
  /** gitignore-style patterns (a pattern without '/' matches the file name anywhere). */
  readonly patterns: readonly string[];
  /** Minimum logical size in bytes, or undefined (no size condition). */
  readonly minSize: number | undefined;
  /** Fixed block size in bytes: a power of two, 4 KiB … 16 MiB. */
  readonly blockSize: number;
  /** Extra full reads when the file changes during a read (0 = no retry). */
  readonly retries: number;
  /** Read from a reflink copy (FICLONE) when the filesystem can make one. */
  readonly reflink: boolean;
  /** 'auto': ask the filesystem for data extents when the native helper is present; 'scan': always read every block. */
  readonly extents: 'auto' | 'scan';
}

/**
 * 1 MiB: small enough that a guest's scattered 4 KiB writes dirty little
 * (each changed block is stored whole), large enough that a 4 GiB image has
 * a 4096-record map and blocks compress and pack well. PBS uses 4 MiB for
 * whole disks; for incrementals of single images finer is cheaper.
 */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
export const MIN_BLOCK_SIZE = 4 * 1024;
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;
export const DEFAULT_RETRIES = 3;

/** Undefined when block mode is off (neither patterns nor a minimum size given). */
export function parseBlockModeOptions(raw: Readonly<Record<string, OptionValue>>): BlockModeOptions | undefined {
  const patterns = patternList(raw['block-mode']);
  const minSize = size(raw, 'block-mode-min-size');
  if (patterns.length === 0 && minSize === undefined) {
    for (const name of ['block-mode-block-size', 'block-mode-retries', 'block-mode-extents']) {
      if (raw[name] !== undefined) {
        throw new EbmError('E_INVALID_OPTION', `option --${name} needs block mode: give --block-mode PATTERNS and/or --block-mode-min-size SIZE`, { subject: name });
      }
    }
    return undefined;
  }
  const blockSize = size(raw, 'block-mode-block-size') ?? DEFAULT_BLOCK_SIZE;
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new EbmError(
      'E_INVALID_OPTION',
      `option --block-mode-block-size must be a power of two from ${formatByteSize(MIN_BLOCK_SIZE)} to ${formatByteSize(MAX_BLOCK_SIZE)}, got ${formatByteSize(blockSize)}`,
      { subject: 'block-mode-block-size' },
    );
  }
  return {
    patterns,
    minSize,
    blockSize,
    retries: retries(raw['block-mode-retries']),
    reflink: flag(raw['block-mode-reflink'], 'block-mode-reflink', true),
    extents: extentsMode(raw['block-mode-extents']),
  };
}

/** Repeatable, and each value may hold several patterns separated by commas ('*.img,*.qcow2'). */
function patternList(value: OptionValue | undefined): readonly string[] {
  if (value === undefined) return [];
  const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (values === undefined || !values.every((v) => typeof v === 'string')) {
    throw new EbmError('E_INVALID_OPTION', `option --block-mode must be a list of patterns, got ${JSON.stringify(value)}`, { subject: 'block-mode' });
  }
  return values.flatMap((v) => v.split(',')).map((p) => p.trim()).filter((p) => p !== '');
}

function size(raw: Readonly<Record<string, OptionValue>>, name: string): number | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  const bytes = typeof value === 'number' ? value : typeof value === 'string' ? parseByteSize(value) : undefined;
  if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw new EbmError('E_INVALID_OPTION', `option --${name} must be a size such as 65536, 64KiB, 64MiB or 1GiB, got ${JSON.stringify(value)}`, { subject: name });
  }
  return bytes;
}

function retries(value: OptionValue | undefined): number {
  if (value === undefined) return DEFAULT_RETRIES;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 20) {
    throw new EbmError('E_INVALID_OPTION', `option --block-mode-retries must be a whole number from 0 to 20, got ${JSON.stringify(value)}`, { subject: 'block-mode-retries' });
  }
  return n;
}

function flag(value: OptionValue | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new EbmError('E_INVALID_OPTION', `option --${name} must be true or false, got ${JSON.stringify(value)}`, { subject: name });
}

function extentsMode(value: OptionValue | undefined): 'auto' | 'scan' {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'scan') return 'scan';
  throw new EbmError('E_INVALID_OPTION', `option --block-mode-extents must be "auto" or "scan", got ${JSON.stringify(value)}`, { subject: 'block-mode-extents' });
}

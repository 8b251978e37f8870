import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { decodeTree, MemoryRepository, TreeEntry } from '@ebm/sdk';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Deterministic pseudo-random bytes (xorshift32): fast, and never all zeros in a 4 KiB page. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (let i = length - (length % 4); i < length; i++) out[i] = 0x5a;
  return out;
}

/** Creates `file` as a hole of `size` bytes (truncate), then writes each [offset, data]. */
export function makeSparseFile(file: string, size: number, writes: readonly (readonly [number, Uint8Array])[]): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, size);
    for (const [offset, data] of writes) writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Positioned writes into an existing file (no truncation). */
export function writeAt(file: string, writes: readonly (readonly [number, Uint8Array])[]): void {
  const fd = openSync(file, 'r+');
  try {
    for (const [offset, data] of writes) writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Bytes the filesystem has allocated to `file` (st_blocks × 512). */
export function allocatedBytes(file: string): number {
  return statSync(file).blocks * 512;
}

/**
 * A digest of a (sparse) file's bytes computed by an independent program
 * (python3, its own lseek(SEEK_DATA/SEEK_HOLE)), so multi-GiB sparse files
 * compare in milliseconds without trusting the code under test: SHA-256 over
 * the size and, for every non-zero 4 KiB page in the data extents, its
 * offset and bytes. Everything outside the extents reads as zeros, so two
 * files with the same digest have the same bytes.
 */
export function sparseDigest(file: string): string {
  const script = `
import hashlib, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY)
size = os.fstat(fd).st_size
h = hashlib.sha256(str(size).encode())
zero = bytes(4096)
pos = 0
while pos < size:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    hole = min(os.lseek(fd, data, os.SEEK_HOLE), size)
    page = data - data % 4096
    while page < hole:
        b = os.pread(fd, 4096, page)
        if b.strip(b'\\0'):
            h.update(page.to_bytes(8, 'little')); h.update(b)
        page += 4096
    pos = hole
print(h.hexdigest())
`;
  return execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }).trim();
}

/** The entries of a stored tree (to look at what a backup recorded). */
export function treeEntries(repo: MemoryRepository, tree: string): readonly TreeEntry[] {
  const bytes = repo.get(tree);
  if (bytes === undefined) throw new Error(`tree ${tree} is not in the repository`);
  return decodeTree(bytes).entries;
}

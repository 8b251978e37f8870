/**
 * Converts a nanosecond decimal string to the seconds number Node's utimes
 * family takes.
 *
 * Precision: Node 20 hands the kernel a double, and libuv then truncates it
 * to whole microseconds (a deliberate compatibility choice in libuv's
 * uv__fs_to_timespec). We therefore aim at the middle of the snapshot time's
 * microsecond: the double's rounding error (~0.24 µs at today's epoch) can
 * then never cross a microsecond boundary, and the restored time is exactly
 * the stored time truncated to whole microseconds.
 * Undefined for a missing or malformed value.
 */
export function nsToSeconds(ns: string | undefined): number | undefined {
  if (ns === undefined || !/^-?\d+$/.test(ns)) return undefined;
  const micros = floorDiv(BigInt(ns), 1000n);
  const seconds = floorDiv(micros, 1_000_000n);
  const fraction = micros - seconds * 1_000_000n; // 0 … 999999
  return Number(seconds) + (Number(fraction) + 0.5) / 1e6;
}

/** [atime, mtime] in seconds for utimes, or undefined when the entry has no mtime. A missing atime takes the mtime. */
export function entryTimes(entry: { readonly atimeNs?: string; readonly mtimeNs?: string }): [number, number] | undefined {
  const mtime = nsToSeconds(entry.mtimeNs);
  if (mtime === undefined) return undefined;
  return [nsToSeconds(entry.atimeNs) ?? mtime, mtime];
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

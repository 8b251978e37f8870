/**
 * Converts a nanosecond decimal string to the seconds number Node's utimes
 * family takes. Node 20 passes times to the kernel as a double, so what is
 * restored is exact to about a microsecond (a double holds ~2^-22 s ≈ 0.24 µs
 * of fraction at today's epoch, and libuv truncates to whole nanoseconds of
 * that value). Undefined for a missing or malformed value.
 */
export function nsToSeconds(ns: string | undefined): number | undefined {
  if (ns === undefined || !/^-?\d+$/.test(ns)) return undefined;
  const value = BigInt(ns);
  const whole = value / 1_000_000_000n;
  const fraction = value % 1_000_000_000n;
  return Number(whole) + Number(fraction) / 1e9;
}

/** [atime, mtime] in seconds for utimes, or undefined when the entry has no mtime. A missing atime takes the mtime. */
export function entryTimes(entry: { readonly atimeNs?: string; readonly mtimeNs?: string }): [number, number] | undefined {
  const mtime = nsToSeconds(entry.mtimeNs);
  if (mtime === undefined) return undefined;
  return [nsToSeconds(entry.atimeNs) ?? mtime, mtime];
}

/**
 * Splits a Linux dev_t (st_rdev) into major and minor numbers, as glibc's
 * gnu_dev_major/gnu_dev_minor do: major = bits 8–19 and 32–43,
 * minor = bits 0–7 and 20–31.
 */
export function splitDeviceNumber(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

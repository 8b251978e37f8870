import { splitDeviceNumber } from './device-numbers';
import { entryTimes, nsToSeconds } from './times';

describe('nsToSeconds', () => {
  it('keeps nanosecond times to within a microsecond', () => {
    const seconds = nsToSeconds('1700000000123456789')!;
    expect(Math.abs(seconds * 1e9 - 1700000000123456789)).toBeLessThan(1000);
  });

  it('handles times before the epoch and refuses malformed values', () => {
    expect(nsToSeconds('-1500000000')).toBeCloseTo(-1.5, 9);
    expect(nsToSeconds('12abc')).toBeUndefined();
    expect(nsToSeconds(undefined)).toBeUndefined();
  });

  it('uses the mtime for a missing atime and gives nothing without an mtime', () => {
    expect(entryTimes({ mtimeNs: '2000000000' })).toEqual([2, 2]);
    expect(entryTimes({ atimeNs: '1000000000', mtimeNs: '2000000000' })).toEqual([1, 2]);
    expect(entryTimes({ atimeNs: '1000000000' })).toBeUndefined();
  });
});

describe('splitDeviceNumber', () => {
  it('decodes Linux dev_t values as glibc does', () => {
    expect(splitDeviceNumber(0x103)).toEqual({ major: 1, minor: 3 }); // /dev/null
    expect(splitDeviceNumber(0x0803)).toEqual({ major: 8, minor: 3 }); // sda3
    // major 300, minor 70000: both use the high bit ranges
    const rdev = Number((BigInt(300 & 0xfff) << 8n) | (BigInt(300 & ~0xfff) << 32n) | BigInt(70000 & 0xff) | (BigInt(70000 & ~0xff) << 12n));
    expect(splitDeviceNumber(rdev)).toEqual({ major: 300, minor: 70000 });
  });
});

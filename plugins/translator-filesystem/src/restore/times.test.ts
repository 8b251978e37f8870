import { splitDeviceNumber } from './device-numbers';
import { entryTimes, nsToSeconds } from './times';

describe('nsToSeconds', () => {
  it('aims at the middle of the microsecond, so truncation to microseconds gives the stored microsecond', () => {
    expect(Math.abs(nsToSeconds('1700000000123456789')! - 1700000000.1234565)).toBeLessThan(3e-7);
    expect(Math.abs(nsToSeconds('1700000000999999999')! - 1700000000.9999995)).toBeLessThan(3e-7);
    expect(nsToSeconds('0')).toBe(0.0000005);
  });

  it('floors times before the epoch and refuses malformed values', () => {
    expect(nsToSeconds('-1500000000')).toBeCloseTo(-1.4999995, 9);
    expect(nsToSeconds('12abc')).toBeUndefined();
    expect(nsToSeconds(undefined)).toBeUndefined();
  });

  it('uses the mtime for a missing atime and gives nothing without an mtime', () => {
    expect(entryTimes({ mtimeNs: '2000000000' })).toEqual([2.0000005, 2.0000005]);
    expect(entryTimes({ atimeNs: '1000000000', mtimeNs: '2000000000' })).toEqual([1.0000005, 2.0000005]);
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

import { randomBytes } from 'node:crypto';
import { SEAL_OVERHEAD } from './aead';
import { aesGcmCipher, createObjectCipher, integrityOnlyCipher } from './object-cipher';

describe('object ciphers', () => {
  const key = randomBytes(32);
  const plaintext = Buffer.from('a recognisable plaintext marker: 7f3a-unencrypted-check');

  it.each([
    ['aes-256-gcm', aesGcmCipher(key)],
    ['none', integrityOnlyCipher(key)],
  ] as const)('%s: round-trips parts with the same frame size, and detects every flipped byte', (algorithm, cipher) => {
    expect(cipher.algorithm).toBe(algorithm);
    const sealed = cipher.seal([plaintext.subarray(0, 10), plaintext.subarray(10)]);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(cipher.unseal(sealed, 'x')).toEqual(plaintext);
    for (let i = 0; i < sealed.length; i++) {
      const damaged = Buffer.from(sealed);
      damaged[i]! ^= 0x04;
      expect(() => cipher.unseal(damaged, 'pack p1')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('pack p1') }));
    }
    expect(() => cipher.unseal(sealed.subarray(0, SEAL_OVERHEAD - 1), 'short')).toThrow(/too short/);
  });

  it.each([
    ['aes-256-gcm', aesGcmCipher(key)],
    ['none', integrityOnlyCipher(key)],
  ] as const)('%s: a frame sealed with associated data opens only with the same associated data, and is no larger', (_algorithm, cipher) => {
    const id = randomBytes(32);
    const other = Buffer.from(id);
    other[31]! ^= 1;
    const sealed = cipher.seal([plaintext], id);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(cipher.unseal(sealed, 'blob b', id)).toEqual(plaintext);
    expect(Buffer.concat(cipher.sealPieces([plaintext], id)).length).toBe(sealed.length);
    expect(cipher.unseal(Buffer.concat(cipher.sealPieces([plaintext], id)), 'blob b', id)).toEqual(plaintext);
    for (const wrong of [other, undefined]) {
      expect(() => cipher.unseal(sealed, 'blob b', wrong)).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('blob b') }));
    }
    expect(() => cipher.unseal(cipher.seal([plaintext]), 'blob b', id)).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT' }));
  });

  it('aes-256-gcm hides the plaintext; none stores it readable (integrity only)', () => {
    expect(createObjectCipher('aes-256-gcm', key).seal([plaintext]).includes(plaintext)).toBe(false);
    expect(createObjectCipher('none', key).seal([plaintext]).includes(plaintext)).toBe(true);
  });

  it('an integrity tag made under another key is refused', () => {
    const sealed = integrityOnlyCipher(randomBytes(32)).seal([plaintext]);
    expect(() => integrityOnlyCipher(key).unseal(sealed, 'index/abc')).toThrow(/index\/abc: integrity check failed/);
  });

  it('unseal of a view into a larger buffer reads only that view', () => {
    const cipher = integrityOnlyCipher(key);
    const sealed = cipher.seal([plaintext]);
    const big = Buffer.concat([randomBytes(7), sealed, randomBytes(9)]);
    expect(cipher.unseal(big.subarray(7, 7 + sealed.length), 'v')).toEqual(plaintext);
  });
});

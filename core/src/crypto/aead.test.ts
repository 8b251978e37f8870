import { randomBytes } from 'node:crypto';
import { NONCE_BYTES, SEAL_OVERHEAD, seal, sealParts, unseal } from './aead';

describe('AES-256-GCM sealing', () => {
  const key = randomBytes(32);

  it('round-trips, with nonce(12) ‖ ciphertext ‖ tag(16) framing', () => {
    const plaintext = randomBytes(10000);
    const sealed = seal(key, plaintext);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(unseal(key, sealed, 'x').equals(plaintext)).toBe(true);
    expect(unseal(key, seal(key, Buffer.alloc(0)), 'empty').length).toBe(0);
  });

  it('detects every flipped byte and a wrong key, naming the object (E_CORRUPT_OBJECT)', () => {
    const sealed = seal(key, Buffer.from('attack at dawn, bring snacks'));
    for (let i = 0; i < sealed.length; i++) {
      const damaged = Buffer.from(sealed);
      damaged[i]! ^= 0x01;
      expect(() => unseal(key, damaged, 'pack abc')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('pack abc') }));
    }
    expect(() => unseal(randomBytes(32), sealed, 'k')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT' }));
    expect(() => unseal(key, sealed.subarray(0, 20), 'short')).toThrow(/too short/);
  });

  it('sealParts seals the concatenation of its parts', () => {
    const parts = [Uint8Array.of(1), randomBytes(3000), Buffer.alloc(0), randomBytes(17)];
    expect(unseal(key, sealParts(key, parts), 'parts').equals(Buffer.concat(parts))).toBe(true);
  });

  it('never repeats a nonce, also across refills of the nonce pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const sealed = i % 2 === 0 ? seal(key, Uint8Array.of(i & 0xff)) : sealParts(key, [Uint8Array.of(i & 0xff)]);
      seen.add(sealed.subarray(0, NONCE_BYTES).toString('hex'));
    }
    expect(seen.size).toBe(5000);
  });
});

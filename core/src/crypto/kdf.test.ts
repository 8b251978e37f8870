import { scryptSync } from 'node:crypto';
import { deriveKey, DEFAULT_SCRYPT_PARAMS, FAST_TEST_SCRYPT_PARAMS, kdfParamsForInit, validateScryptParams } from './kdf';

describe('scrypt key derivation', () => {
  it('matches the RFC 7914 test vector (password "password", salt "NaCl", N=1024 r=8 p=16)', async () => {
    const key = await deriveKey('password', Buffer.from('NaCl'), { N: 1024, r: 8, p: 16 }, 64);
    expect(key.toString('hex')).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162' + '2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
  });

  it('derives the same key as node:crypto scryptSync with the default parameters', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = await deriveKey('correct horse', salt, DEFAULT_SCRYPT_PARAMS);
    expect(key.equals(scryptSync('correct horse', salt, 32, { ...DEFAULT_SCRYPT_PARAMS, maxmem: 64 * 1024 * 1024 }))).toBe(true);
  });

  it('different passwords and salts give different keys', async () => {
    const a = await deriveKey('a', Buffer.from('salt'), FAST_TEST_SCRYPT_PARAMS);
    const b = await deriveKey('b', Buffer.from('salt'), FAST_TEST_SCRYPT_PARAMS);
    const c = await deriveKey('a', Buffer.from('pepper'), FAST_TEST_SCRYPT_PARAMS);
    expect(a.equals(b) || a.equals(c)).toBe(false);
  });

  it('refuses parameters a hostile key file could use to exhaust memory', () => {
    expect(() => validateScryptParams({ N: 1000, r: 8, p: 1 })).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT' }));
    expect(() => validateScryptParams({ N: 2 ** 30, r: 8, p: 1 })).toThrow(/N=1073741824/);
    expect(() => validateScryptParams({ N: 1024, r: 0, p: 1 })).toThrow(/r=0/);
  });

  it('uses the fast parameters at init only when EBM_TEST_FAST_KDF=1, explicit ones always win', () => {
    const saved = process.env.EBM_TEST_FAST_KDF;
    try {
      delete process.env.EBM_TEST_FAST_KDF;
      expect(kdfParamsForInit()).toEqual(DEFAULT_SCRYPT_PARAMS);
      process.env.EBM_TEST_FAST_KDF = '1';
      expect(kdfParamsForInit()).toEqual(FAST_TEST_SCRYPT_PARAMS);
      expect(kdfParamsForInit({ N: 2048, r: 4, p: 1 })).toEqual({ N: 2048, r: 4, p: 1 });
    } finally {
      if (saved === undefined) delete process.env.EBM_TEST_FAST_KDF;
      else process.env.EBM_TEST_FAST_KDF = saved;
    }
  });
});

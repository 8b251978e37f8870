import { scrypt } from 'node:crypto';
import { EbmError } from '@ebm/sdk';

/** scrypt cost parameters (RFC 7914). */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/** Default for new key files: 2^15, about 32 MiB and ~100 ms per derivation. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 32768, r: 8, p: 1 });

/** Cheap parameters for tests only (EBM_TEST_FAST_KDF=1). Never use for real repositories. */
export const FAST_TEST_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 1024, r: 8, p: 1 });

/**
 * Upper bounds accepted from a key file, so a hostile key file cannot make
 * `open` allocate gigabytes or spin for minutes (2^20 · 8 · 128 B = 1 GiB).
 */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

/**
 * The parameters `ebm init` uses: the explicit ones if given, else the fast
 * test ones when EBM_TEST_FAST_KDF=1, else the defaults. The environment is
 * read here only (at repository init), never when opening: opening always
 * uses the parameters recorded in the key file.
 */
export function kdfParamsForInit(explicit?: ScryptParams): ScryptParams {
  if (explicit) {
    try {
      return validateScryptParams(explicit);
    } catch (err) {
      throw new EbmError('E_USAGE', (err as Error).message);
    }
  }
  return process.env.EBM_TEST_FAST_KDF === '1' ? FAST_TEST_SCRYPT_PARAMS : DEFAULT_SCRYPT_PARAMS;
}

/** Checks N is a power of two > 1 and r, p are small positive integers; E_CORRUPT_OBJECT otherwise (they come from key files). */
export function validateScryptParams(params: ScryptParams, what = 'scrypt parameters'): ScryptParams {
  const { N, r, p } = params;
  const okN = Number.isSafeInteger(N) && N > 1 && N <= MAX_N && (N & (N - 1)) === 0;
  const okR = Number.isSafeInteger(r) && r >= 1 && r <= MAX_R;
  const okP = Number.isSafeInteger(p) && p >= 1 && p <= MAX_P;
  if (!okN || !okR || !okP) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: invalid scrypt parameters N=${N} r=${r} p=${p} (N must be a power of two ≤ ${MAX_N}, r ≤ ${MAX_R}, p ≤ ${MAX_P})`, { subject: what });
  }
  return { N, r, p };
}

/** Derives a `keyLength`-byte key from a password with scrypt (asynchronous: runs on libuv's thread pool). */
export function deriveKey(password: string | Uint8Array, salt: Uint8Array, params: ScryptParams, keyLength = 32): Promise<Buffer> {
  const { N, r, p } = validateScryptParams(params);
  // Node refuses unless maxmem ≥ 128·N·r (V) + 128·r·p (B) with some slack; give it twice V plus 1 MiB.
  const maxmem = 256 * N * r + 128 * r * p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem }, (err, key) => {
      if (err) reject(new EbmError('E_INTERNAL', `scrypt failed: ${err.message}`, { cause: err }));
      else resolve(key);
    });
  });
}

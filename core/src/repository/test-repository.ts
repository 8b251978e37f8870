import type { Backend } from '../backend/backend';
import { MemoryBackend } from '../backend/memory-backend';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { InitOptions, Repository } from './repository';

/**
 * Helpers for tests across core: a repository with cheap scrypt parameters,
 * in memory by default. Never used by production code.
 */
export const TEST_PASSWORD = 'correct horse battery staple';

export function initTestRepository(backend: Backend = new MemoryBackend(), options: InitOptions = {}): Promise<Repository> {
  return Repository.init(backend, TEST_PASSWORD, { kdf: FAST_TEST_SCRYPT_PARAMS, ...options });
}

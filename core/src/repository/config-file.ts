import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson, EbmError, isEbmError } from '@ebm/sdk';
import type { Backend } from '../backend/backend';
import { isEncryptionAlgorithm } from '../crypto/object-cipher';
import type { EncryptionAlgorithm } from '../crypto/object-cipher';
import { REPOSITORY_FORMAT_VERSION, RepositoryConfig } from './types';

const CONFIG_HANDLE = { type: 'config', name: 'config' } as const;

/** The config as read from disk, before its mac was checked. */
export interface UnverifiedConfig {
  readonly config: RepositoryConfig;
  /** The parsed JSON without `mac`, exactly as stored (unknown fields included: they are covered by the mac). */
  readonly body: Record<string, unknown>;
  readonly mac: string;
}

export interface NewConfigParams {
  readonly version: number;
  readonly chunker: { readonly minSize: number; readonly avgSize: number; readonly maxSize: number; readonly normalization: number };
  readonly compressionLevel: number;
  readonly packTargetSize: number;
  readonly encryption: EncryptionAlgorithm;
}

export function newConfig(params: NewConfigParams): RepositoryConfig {
  return {
    format: 'ebm-repository',
    version: params.version,
    id: randomBytes(32).toString('hex'),
    created: new Date().toISOString(),
    chunker: { algorithm: 'fastcdc-gear32-v1', ...params.chunker },
    compression: { algorithm: 'zstd', level: params.compressionLevel },
    encryption: { algorithm: params.encryption },
    packs: { targetSize: params.packTargetSize },
  };
}

/** HMAC-SHA-256 (hex) under the master id key of the canonical JSON of the config without `mac`. */
export function configMac(body: unknown, idKey: Uint8Array): string {
  return createHmac('sha256', idKey).update(canonicalJson(body), 'utf8').digest('hex');
}

/** Writes `config` (plaintext JSON, with its mac) to the backend. */
export async function writeConfig(backend: Backend, config: RepositoryConfig, idKey: Uint8Array): Promise<void> {
  const doc = { ...config, mac: configMac(config, idKey) };
  await backend.save(CONFIG_HANDLE, Buffer.from(JSON.stringify(doc, null, 2) + '\n', 'utf8'));
}

/**
 * Reads the config before any password is asked, so a wrong path or a
 * too-new repository is reported as such. Missing, not JSON, or not an ebm
 * config → E_NOT_A_REPOSITORY; newer version → E_UNSUPPORTED_FORMAT; an ebm
 * config with malformed fields → E_CORRUPT_OBJECT.
 */
export async function readConfig(backend: Backend): Promise<UnverifiedConfig> {
  const where = `${backend.location}/config`;
  let bytes: Buffer;
  try {
    bytes = await backend.load(CONFIG_HANDLE);
  } catch (err) {
    if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') {
      throw new EbmError('E_NOT_A_REPOSITORY', `${backend.location} is not an ebm repository (there is no ${where}); create one with \`ebm init\``, { subject: backend.location });
    }
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EbmError('E_NOT_A_REPOSITORY', `${where} is not an ebm repository config (not JSON); check the path, or create a repository with \`ebm init\``, { subject: where });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || (doc as { format?: unknown }).format !== 'ebm-repository') {
    throw new EbmError('E_NOT_A_REPOSITORY', `${where} is not an ebm repository config (its "format" is not "ebm-repository"); check the path, or create a repository with \`ebm init\``, { subject: where });
  }
  const { mac, ...body } = doc as Record<string, unknown>;
  const version = body.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw corrupt(where, `has an invalid "version" ${JSON.stringify(version)}`);
  }
  if (version > REPOSITORY_FORMAT_VERSION) {
    throw new EbmError('E_UNSUPPORTED_FORMAT', `${backend.location} uses repository format version ${version}, but this ebm supports only up to version ${REPOSITORY_FORMAT_VERSION}; upgrade ebm`, { subject: where });
  }
  if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) throw corrupt(where, 'has no valid "mac"');
  return { config: validateConfig(body, where), body, mac };
}

/** Checks the config's mac under the unlocked id key; E_CORRUPT_OBJECT "config was modified" on mismatch. */
export function verifyConfig(unverified: UnverifiedConfig, idKey: Uint8Array, location: string): RepositoryConfig {
  const expected = Buffer.from(configMac(unverified.body, idKey), 'hex');
  const actual = Buffer.from(unverified.mac, 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new EbmError('E_CORRUPT_OBJECT', `${location}/config: config was modified (its mac does not match); restore it from a copy`, { subject: `${location}/config` });
  }
  return unverified.config;
}

function validateConfig(body: Record<string, unknown>, where: string): RepositoryConfig {
  const c = body as unknown as RepositoryConfig;
  if (typeof c.id !== 'string' || !/^[0-9a-f]{64}$/.test(c.id)) throw corrupt(where, 'has an invalid "id"');
  if (typeof c.created !== 'string') throw corrupt(where, 'has an invalid "created"');
  const ch = c.chunker as Partial<RepositoryConfig['chunker']> | undefined;
  if (!ch || ch.algorithm !== 'fastcdc-gear32-v1' || !isPositiveInt(ch.minSize) || !isPositiveInt(ch.avgSize) || !isPositiveInt(ch.maxSize) || !Number.isInteger(ch.normalization)) {
    throw corrupt(where, 'has an invalid or unknown "chunker"');
  }
  if (!c.compression || c.compression.algorithm !== 'zstd' || !Number.isInteger(c.compression.level)) throw corrupt(where, 'has an invalid or unknown "compression"');
  if (!c.encryption || !isEncryptionAlgorithm(c.encryption.algorithm)) throw corrupt(where, 'has an invalid or unknown "encryption"');
  if (!c.packs || !isPositiveInt(c.packs.targetSize)) throw corrupt(where, 'has an invalid "packs"');
  return c;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function corrupt(where: string, detail: string): EbmError {
  return new EbmError('E_CORRUPT_OBJECT', `${where} ${detail}`, { subject: where });
}

import { ChunkerParams, DEFAULT_CHUNKER_SIZES, EbmError, isEbmError } from '@ebm/sdk';
import type { Backend } from '../backend/backend';
import { fileHash } from '../compression/payload-codec';
import { kdfParamsForInit, ScryptParams } from '../crypto/kdf';
import { newConfig, readConfig, verifyConfig, writeConfig } from './config-file';
import { addKey, addPlainKey, createMasterKeys, openPlain, openWithPassword } from './keys';
import { createObjectCipher, isEncryptionAlgorithm } from '../crypto/object-cipher';
import type { EncryptionAlgorithm, ObjectCipher } from '../crypto/object-cipher';
import { sealJson, unsealJson } from './sealed-json';
import { BLOB_IDS_BOUND_SINCE, REPOSITORY_FORMAT_VERSION } from './types';
import type { MasterKeys, RepositoryConfig } from './types';

/** Files named by the sha256 of their bytes that hold encrypted JSON. */
export type JsonFileType = 'index' | 'snapshots';

export interface InitOptions {
  readonly chunker?: Partial<{ minSize: number; avgSize: number; maxSize: number; normalization: number }>;
  /** zstd level (default 3). */
  readonly compressionLevel?: number;
  /** Pack files are closed once they reach about this size (default 16 MiB). */
  readonly packTargetSize?: number;
  /** scrypt parameters of the first key file (default: see kdfParamsForInit). */
  readonly kdf?: ScryptParams;
  /** 'aes-256-gcm' (default) or 'none': integrity only, no password (see object-cipher.ts). */
  readonly encryption?: EncryptionAlgorithm;
  /**
   * The format version to create (default REPOSITORY_FORMAT_VERSION): 1 makes
   * a repository that ebm releases before format version 2 can still open
   * (its blobs are not sealed with their ids, so every read re-hashes them).
   */
  readonly formatVersion?: number;
}

/** A password, or a function asked for it only when the repository turns out to be encrypted. */
export type PasswordSource = string | (() => Promise<string>);

export const DEFAULT_COMPRESSION_LEVEL = 3;
export const DEFAULT_PACK_TARGET_SIZE = 16 * 1024 * 1024;

/**
 * An open repository: its backend, its verified config and the unlocked
 * master keys. Knows how encrypted JSON files are framed and named; packs,
 * the index and snapshots build on it.
 */
export class Repository {
  readonly backend: Backend;
  readonly config: RepositoryConfig;
  readonly keys: MasterKeys;
  /** Seals and opens every stored object, per the config's encryption. */
  readonly cipher: ObjectCipher;
  /** The key file this session opened the repository with. */
  readonly keyId: string;
  readonly #kdf: ScryptParams | undefined;

  private constructor(backend: Backend, config: RepositoryConfig, keys: MasterKeys, keyId: string, kdf: ScryptParams | undefined) {
    this.backend = backend;
    this.config = config;
    this.keys = keys;
    this.cipher = createObjectCipher(config.encryption.algorithm, keys.encryption);
    this.keyId = keyId;
    this.#kdf = kdf;
  }

  get encrypted(): boolean {
    return this.config.encryption.algorithm !== 'none';
  }

  /** True from format version 2 on: blobs are sealed with their id (RepoAccess.bindsBlobIds). */
  get bindsBlobIds(): boolean {
    return this.config.version >= BLOB_IDS_BOUND_SINCE;
  }

  /**
   * Creates a repository at an empty location. Order: layout, key file,
   * config last — the config marks a complete repository. `password` is
   * required for an encrypted repository and ignored for `encryption: 'none'`.
   */
  static async init(backend: Backend, password: string | undefined, options: InitOptions = {}): Promise<Repository> {
    const encryption = options.encryption ?? 'aes-256-gcm';
    if (!isEncryptionAlgorithm(encryption)) throw new EbmError('E_USAGE', `invalid encryption ${JSON.stringify(encryption)}: use "aes-256-gcm" or "none"`);
    if (encryption !== 'none' && !password) throw new EbmError('E_USAGE', 'an encrypted repository needs a password (or create it with encryption "none")');
    const chunker = { ...DEFAULT_CHUNKER_SIZES, ...options.chunker };
    validateInitOptions(chunker, options);
    const kdf = kdfParamsForInit(options.kdf);
    if (!(await backend.isEmpty())) {
      throw new EbmError('E_REPOSITORY_EXISTS', `${backend.location} is not empty; refusing to create a repository there`, { subject: backend.location });
    }
    await backend.create();
    const keys = createMasterKeys();
    const keyId = encryption === 'none' ? await addPlainKey(backend, keys) : await addKey(backend, keys, password!, { kdf });
    const config = newConfig({
      version: options.formatVersion ?? REPOSITORY_FORMAT_VERSION,
      encryption,
      chunker,
      compressionLevel: options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL,
      packTargetSize: options.packTargetSize ?? DEFAULT_PACK_TARGET_SIZE,
    });
    await writeConfig(backend, config, keys.id);
    return new Repository(backend, config, keys, keyId, encryption === 'none' ? undefined : kdf);
  }

  /**
   * Opens an existing repository: reads the config (before asking for the
   * password, which an unencrypted repository never needs), unlocks a key
   * file, verifies the config.
   */
  static async open(backend: Backend, password: PasswordSource): Promise<Repository> {
    const unverified = await readConfig(backend);
    const opened = unverified.config.encryption.algorithm === 'none'
      ? await openPlain(backend)
      : await openWithPassword(backend, typeof password === 'string' ? password : await password());
    const config = verifyConfig(unverified, opened.keys.id, backend.location);
    return new Repository(backend, config, opened.keys, opened.keyId, opened.kdf);
  }

  get compressionLevel(): number {
    return this.config.compression.level;
  }

  get packTargetSize(): number {
    return this.config.packs.targetSize;
  }

  chunkerParams(): ChunkerParams {
    const { algorithm, minSize, avgSize, maxSize, normalization } = this.config.chunker;
    return { algorithm, minSize, avgSize, maxSize, normalization, gearKey: this.keys.chunker };
  }

  /** Adds a key file for `password` with the same scrypt parameters as the key in use; returns its id. */
  addKey(password: string): Promise<string> {
    if (this.#kdf === undefined) {
      return Promise.reject(new EbmError('E_USAGE', `${this.backend.location} is not encrypted, so it has no passwords to add; create an encrypted repository to use passwords`, { subject: this.backend.location }));
    }
    return addKey(this.backend, this.keys, password, { kdf: this.#kdf });
  }

  /** Stores `value` as an encrypted JSON file named by the sha256 of the file's bytes; returns that id. */
  async saveJsonFile(type: JsonFileType, value: unknown): Promise<string> {
    const bytes = sealJson(this.cipher, value, this.compressionLevel);
    const id = fileHash(bytes);
    await this.backend.save({ type, name: id }, bytes);
    return id;
  }

  /** Loads and decrypts a JSON file; its bytes must hash to its id, else E_CORRUPT_OBJECT naming `<type>/<id>`. */
  async loadJsonFile<T>(type: JsonFileType, id: string): Promise<T> {
    const what = `${type}/${id}`;
    const bytes = await this.backend.load({ type, name: id });
    const actual = fileHash(bytes);
    if (actual !== id) {
      throw new EbmError('E_CORRUPT_OBJECT', `${what}: content does not match its name (sha256 is ${actual}); the file is damaged`, { subject: what });
    }
    return unsealJson<T>(this.cipher, bytes, what);
  }

  async listIds(type: JsonFileType): Promise<string[]> {
    const ids: string[] = [];
    for await (const f of this.backend.list(type)) ids.push(f.name);
    return ids.sort();
  }

  /**
   * A full id or a unique prefix → the full id. E_AMBIGUOUS_ID for several
   * matches; none → E_SNAPSHOT_NOT_FOUND (snapshots) or E_STORAGE_NOT_FOUND.
   */
  async resolveId(type: JsonFileType, prefixOrId: string): Promise<string> {
    if (/^[0-9a-f]{64}$/.test(prefixOrId)) {
      try {
        await this.backend.stat({ type, name: prefixOrId });
        return prefixOrId;
      } catch (err) {
        if (!isEbmError(err) || err.code !== 'E_STORAGE_NOT_FOUND') throw err;
        throw notFound(type, prefixOrId);
      }
    }
    const matches = prefixOrId === '' ? [] : (await this.listIds(type)).filter((id) => id.startsWith(prefixOrId));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw notFound(type, prefixOrId);
    throw new EbmError('E_AMBIGUOUS_ID', `${type} id prefix ${JSON.stringify(prefixOrId)} matches ${matches.length} files: ${matches.slice(0, 5).map((m) => m.slice(0, 12)).join(', ')}${matches.length > 5 ? ', …' : ''}`, { subject: prefixOrId });
  }
}

function notFound(type: JsonFileType, prefixOrId: string): EbmError {
  if (type === 'snapshots') return new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot matches ${JSON.stringify(prefixOrId)}`, { subject: prefixOrId });
  return new EbmError('E_STORAGE_NOT_FOUND', `no ${type} file matches ${JSON.stringify(prefixOrId)}`, { subject: prefixOrId });
}

function validateInitOptions(chunker: { minSize: number; avgSize: number; maxSize: number; normalization: number }, options: InitOptions): void {
  const { minSize, avgSize, maxSize, normalization } = chunker;
  const ints = [minSize, avgSize, maxSize].every((v) => Number.isSafeInteger(v) && v > 0);
  if (!ints || !(minSize <= avgSize && avgSize <= maxSize)) {
    throw new EbmError('E_USAGE', `invalid chunker sizes min=${minSize} avg=${avgSize} max=${maxSize}: need positive integers with min ≤ avg ≤ max`);
  }
  if (!Number.isInteger(normalization) || normalization < 0 || normalization > 3) {
    throw new EbmError('E_USAGE', `invalid chunker normalization ${normalization}: need an integer 0..3`);
  }
  const level = options.compressionLevel;
  if (level !== undefined && (!Number.isInteger(level) || level < 0 || level > 22)) {
    throw new EbmError('E_USAGE', `invalid compression level ${level}: need an integer 0..22 (0 stores uncompressed)`);
  }
  const version = options.formatVersion;
  if (version !== undefined && (!Number.isInteger(version) || version < 1 || version > REPOSITORY_FORMAT_VERSION)) {
    throw new EbmError('E_USAGE', `invalid repository format version ${version}: need an integer 1..${REPOSITORY_FORMAT_VERSION}`);
  }
  const target = options.packTargetSize;
  if (target !== undefined && (!Number.isSafeInteger(target) || target < 1024)) {
    throw new EbmError('E_USAGE', `invalid pack target size ${target}: need an integer ≥ 1024 bytes`);
  }
}

import { randomBytes } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import type { MasterKeys } from '../repository/types';
import { seal, unseal } from './aead';
import { deriveKey, ScryptParams, validateScryptParams } from './kdf';

/**
 * A key file (`keys/<id>`, plaintext JSON): the master keys sealed
 * (AES-256-GCM, see aead.ts) under a key-encryption key derived from a
 * password with scrypt. Each key file has its own salt, so every password
 * unwraps the same master keys independently.
 *
 * A repository created without encryption has one key file whose kdf is
 * `{ name: 'none' }` and whose `data` is the base64 of the plain secret JSON:
 * it needs no password (the keys still key blob ids, the chunker and the
 * integrity tags; see object-cipher.ts).
 */
export interface KeyFile {
  readonly v: 1;
  readonly created: string;
  readonly host: string;
  readonly username: string;
  readonly kdf: ScryptKdf | { readonly name: 'none' };
  /** base64 of seal(kek, utf8 JSON {"encryption","id","chunker"} with base64 32-byte keys); with kdf none, of that JSON itself. */
  readonly data: string;
}

export interface ScryptKdf {
  readonly name: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
}

export interface KeyFileOwner {
  readonly created: string;
  readonly host: string;
  readonly username: string;
}

const SALT_BYTES = 32;
const MASTER_KEY_BYTES = 32;

/** Builds a key file's bytes for `masterKeys` under `password`. */
export async function writeKeyFile(masterKeys: MasterKeys, password: string, params: ScryptParams, owner: KeyFileOwner): Promise<Buffer> {
  const salt = randomBytes(SALT_BYTES);
  const kek = await deriveKey(password, salt, params);
  const secret = secretJson(masterKeys);
  const file: KeyFile = {
    v: 1,
    created: owner.created,
    host: owner.host,
    username: owner.username,
    kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') },
    data: seal(kek, Buffer.from(secret, 'utf8')).toString('base64'),
  };
  return Buffer.from(JSON.stringify(file, null, 2) + '\n', 'utf8');
}

/** Builds the password-less key file of an unencrypted repository (kdf none, keys in the clear). */
export function writePlainKeyFile(masterKeys: MasterKeys, owner: KeyFileOwner): Buffer {
  const file: KeyFile = { v: 1, ...owner, kdf: { name: 'none' }, data: Buffer.from(secretJson(masterKeys), 'utf8').toString('base64') };
  return Buffer.from(JSON.stringify(file, null, 2) + '\n', 'utf8');
}

function secretJson(masterKeys: MasterKeys): string {
  return JSON.stringify({
    encryption: masterKeys.encryption.toString('base64'),
    id: masterKeys.id.toString('base64'),
    chunker: masterKeys.chunker.toString('base64'),
  });
}

/** Parses and validates a key file's JSON; E_CORRUPT_OBJECT naming `what` if it is malformed. */
export function parseKeyFile(bytes: Uint8Array, what: string): KeyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw corrupt(what, 'is not valid JSON');
  }
  const f = doc as Partial<KeyFile> | null;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw corrupt(what, 'is not a JSON object');
  if (f.v !== 1) throw corrupt(what, `has unknown key file version ${JSON.stringify(f.v)}`);
  if (typeof f.data !== 'string') throw corrupt(what, 'has no "data"');
  const owner = {
    created: typeof f.created === 'string' ? f.created : '',
    host: typeof f.host === 'string' ? f.host : '',
    username: typeof f.username === 'string' ? f.username : '',
  };
  const kdf = f.kdf as Partial<ScryptKdf> | { name: 'none' } | undefined;
  if (typeof kdf === 'object' && kdf !== null && kdf.name === 'none') return { v: 1, ...owner, kdf: { name: 'none' }, data: f.data };
  if (typeof kdf !== 'object' || kdf === null || kdf.name !== 'scrypt' || typeof kdf.salt !== 'string') {
    throw corrupt(what, 'has no valid "kdf" (expected scrypt with a salt, or none)');
  }
  validateScryptParams({ N: kdf.N!, r: kdf.r!, p: kdf.p! }, what);
  return {
    v: 1,
    ...owner,
    kdf: { name: 'scrypt', N: kdf.N!, r: kdf.r!, p: kdf.p!, salt: kdf.salt },
    data: f.data,
  };
}

/**
 * Unwraps the master keys with `password`. Returns undefined when the
 * password does not open this key file (authentication fails, or it is a
 * plain key file of an unencrypted repository); throws
 * E_CORRUPT_OBJECT when it opens but the content is malformed.
 */
export async function unlockKeyFile(file: KeyFile, password: string, what: string): Promise<MasterKeys | undefined> {
  // A plain key file never opens a password-protected repository.
  if (file.kdf.name === 'none') return undefined;
  const kek = await deriveKey(password, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  let secret: Buffer;
  try {
    secret = unseal(kek, Buffer.from(file.data, 'base64'), what);
  } catch {
    return undefined;
  }
  return parseSecret(secret, what);
}

/** The keys of a password-less key file (kdf none). */
export function readPlainKeyFile(file: KeyFile, what: string): MasterKeys {
  if (file.kdf.name !== 'none') throw corrupt(what, 'is password-protected, not a plain key file');
  return parseSecret(Buffer.from(file.data, 'base64'), what);
}

function parseSecret(secret: Buffer, what: string): MasterKeys {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(secret.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw corrupt(what, 'opened, but its content is not valid JSON');
  }
  return { encryption: masterKey(doc, 'encryption', what), id: masterKey(doc, 'id', what), chunker: masterKey(doc, 'chunker', what) };
}

function masterKey(doc: Record<string, unknown>, field: string, what: string): Buffer {
  const value = doc[field];
  const key = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (key.length !== MASTER_KEY_BYTES) throw corrupt(what, `opened, but its "${field}" key is not ${MASTER_KEY_BYTES} bytes`);
  return key;
}

function corrupt(what: string, detail: string): EbmError {
  return new EbmError('E_CORRUPT_OBJECT', `${what} ${detail}`, { subject: what });
}

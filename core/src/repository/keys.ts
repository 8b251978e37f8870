import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { EbmError, isEbmError } from '@ebm/sdk';
import type { Backend } from '../backend/backend';
import { fileHash } from '../compression/payload-codec';
import { KeyFile, parseKeyFile, readPlainKeyFile, unlockKeyFile, writeKeyFile, writePlainKeyFile } from '../crypto/key-file';
import { DEFAULT_SCRYPT_PARAMS, ScryptParams } from '../crypto/kdf';
import type { MasterKeys } from './types';

/** A key file as `ebm key list` shows it. `problem` is set when the file could not be parsed. */
export interface KeyInfo {
  readonly id: string;
  readonly created: string;
  readonly host: string;
  readonly username: string;
  readonly problem?: string;
}

export interface OpenedKeys {
  readonly keys: MasterKeys;
  /** Id (file name) of the key file that opened. */
  readonly keyId: string;
  /** The scrypt parameters of that key file (reused when adding keys); absent for the plain key of an unencrypted repository. */
  readonly kdf?: ScryptParams;
}

export interface AddKeyOptions {
  readonly kdf?: ScryptParams;
  readonly host?: string;
  readonly username?: string;
}

/** Fresh random master keys for a new repository. */
export function createMasterKeys(): MasterKeys {
  return { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) };
}

/** Writes a new key file wrapping `masterKeys` under `password`; returns its id (sha256 of the file). */
export async function addKey(backend: Backend, masterKeys: MasterKeys, password: string, options: AddKeyOptions = {}): Promise<string> {
  const bytes = await writeKeyFile(masterKeys, password, options.kdf ?? DEFAULT_SCRYPT_PARAMS, {
    created: new Date().toISOString(),
    host: options.host ?? os.hostname(),
    username: options.username ?? currentUsername(),
  });
  const id = fileHash(bytes);
  await backend.save({ type: 'keys', name: id }, bytes);
  return id;
}

/** Writes the one password-less key file of an unencrypted repository; returns its id. */
export async function addPlainKey(backend: Backend, masterKeys: MasterKeys): Promise<string> {
  const bytes = writePlainKeyFile(masterKeys, { created: new Date().toISOString(), host: os.hostname(), username: currentUsername() });
  const id = fileHash(bytes);
  await backend.save({ type: 'keys', name: id }, bytes);
  return id;
}

/** Opens an unencrypted repository's keys (no password). E_CORRUPT_OBJECT when it has no readable plain key file. */
export async function openPlain(backend: Backend): Promise<OpenedKeys> {
  const problems: string[] = [];
  for (const id of await listKeyIds(backend)) {
    try {
      const file = await readKeyFile(backend, id);
      if (file.kdf.name === 'none') return { keys: readPlainKeyFile(file, `keys/${id}`), keyId: id };
    } catch (err) {
      if (!isEbmError(err) || err.code !== 'E_CORRUPT_OBJECT') throw err;
      problems.push(err.message);
    }
  }
  const extra = problems.length ? ` (${problems.join('; ')})` : '';
  throw new EbmError('E_CORRUPT_OBJECT', `${backend.location}: the repository is unencrypted but has no readable plain key file under keys/${extra}`, { subject: `${backend.location}/keys` });
}

/**
 * Tries `password` on every key file. No key file at all → E_CORRUPT_OBJECT
 * (the repository is damaged: it has a config but no keys); none opens →
 * E_WRONG_PASSWORD (mentioning key files that could not be read). A key file
 * whose bytes do not hash to its name is skipped as damaged.
 */
export async function openWithPassword(backend: Backend, password: string): Promise<OpenedKeys> {
  const ids = await listKeyIds(backend);
  if (ids.length === 0) {
    throw new EbmError('E_CORRUPT_OBJECT', `${backend.location}: the repository has no key files under keys/, so it cannot be opened`, { subject: `${backend.location}/keys` });
  }
  const problems: string[] = [];
  for (const id of ids) {
    let file: KeyFile;
    try {
      file = await readKeyFile(backend, id);
    } catch (err) {
      if (!isEbmError(err) || err.code !== 'E_CORRUPT_OBJECT') throw err;
      problems.push(err.message);
      continue;
    }
    const keys = await unlockKeyFile(file, password, `keys/${id}`);
    if (keys && file.kdf.name === 'scrypt') return { keys, keyId: id, kdf: { N: file.kdf.N, r: file.kdf.r, p: file.kdf.p } };
  }
  const extra = problems.length ? ` (${problems.length} damaged key file(s) skipped: ${problems.join('; ')})` : '';
  throw new EbmError('E_WRONG_PASSWORD', `${backend.location}: the password opens none of the ${ids.length} key file(s)${extra}`, { subject: backend.location });
}

/** Every key file, sorted by creation time. Damaged ones are listed with `problem` set. */
export async function listKeys(backend: Backend): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for (const id of await listKeyIds(backend)) {
    try {
      const f = await readKeyFile(backend, id);
      out.push({ id, created: f.created, host: f.host, username: f.username });
    } catch (err) {
      if (!isEbmError(err) || err.code !== 'E_CORRUPT_OBJECT') throw err;
      out.push({ id, created: '', host: '', username: '', problem: err.message });
    }
  }
  return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
}

/**
 * Removes a key file by id or unique id prefix and returns the full id.
 * Refuses (E_LAST_KEY) the key in use and the last key; E_KEY_NOT_FOUND when
 * nothing matches; E_AMBIGUOUS_ID when the prefix matches several.
 */
export async function removeKey(backend: Backend, idOrPrefix: string, currentKeyId: string): Promise<string> {
  const ids = await listKeyIds(backend);
  const matches = ids.includes(idOrPrefix) ? [idOrPrefix] : idOrPrefix === '' ? [] : ids.filter((id) => id.startsWith(idOrPrefix));
  if (matches.length === 0) throw new EbmError('E_KEY_NOT_FOUND', `no key file matches ${JSON.stringify(idOrPrefix)} in ${backend.location}`, { subject: idOrPrefix });
  if (matches.length > 1) {
    throw new EbmError('E_AMBIGUOUS_ID', `key id prefix ${JSON.stringify(idOrPrefix)} matches ${matches.length} key files: ${matches.map((m) => m.slice(0, 12)).join(', ')}`, { subject: idOrPrefix });
  }
  const id = matches[0]!;
  if (id === currentKeyId) {
    throw new EbmError('E_LAST_KEY', `key ${id.slice(0, 12)} is the one this session opened the repository with; open it with another key to remove this one`, { subject: id });
  }
  if (ids.length <= 1) throw new EbmError('E_LAST_KEY', `key ${id.slice(0, 12)} is the last key file of ${backend.location}`, { subject: id });
  await backend.remove({ type: 'keys', name: id });
  return id;
}

async function listKeyIds(backend: Backend): Promise<string[]> {
  const ids: string[] = [];
  for await (const f of backend.list('keys')) ids.push(f.name);
  return ids.sort();
}

async function readKeyFile(backend: Backend, id: string): Promise<KeyFile> {
  const what = `keys/${id}`;
  const bytes = await backend.load({ type: 'keys', name: id });
  if (fileHash(bytes) !== id) {
    throw new EbmError('E_CORRUPT_OBJECT', `${what}: content does not match its name (sha256 ${fileHash(bytes).slice(0, 12)}…); the key file is damaged`, { subject: what });
  }
  return parseKeyFile(bytes, what);
}

function currentUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

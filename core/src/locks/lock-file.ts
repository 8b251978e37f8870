import { randomBytes } from 'node:crypto';
import { EbmError, isEbmError } from '@ebm/sdk';
import type { Repository } from '../repository/repository';
import { sealJson, unsealJson } from '../repository/sealed-json';

/** Content of a lock file `locks/<random 32-hex id>` (encrypted JSON, see sealed-json.ts). */
export interface LockRecord {
  readonly v: 1;
  /** ISO time of creation or last refresh. */
  readonly time: string;
  readonly exclusive: boolean;
  readonly host: string;
  readonly pid: number;
  readonly username: string;
  /** What the holder is doing, e.g. "backup home". */
  readonly operation: string;
}

/** A lock file as read back: the record, or why it could not be read. */
export type LockFileContent = { readonly id: string; readonly record: LockRecord } | { readonly id: string; readonly problem: string };

export function newLockId(): string {
  return randomBytes(16).toString('hex');
}

/** Writes (or overwrites on refresh) a lock file. */
export async function writeLockFile(repo: Repository, id: string, record: LockRecord): Promise<void> {
  await repo.backend.save({ type: 'locks', name: id }, sealJson(repo.cipher, record, repo.compressionLevel));
}

/**
 * Reads every lock file. Files removed while listing are skipped; files that
 * do not decrypt or do not look like a version-1 lock are returned with a
 * `problem` (callers treat them as held — see lock.ts).
 */
export async function readLockFiles(repo: Repository): Promise<LockFileContent[]> {
  const ids: string[] = [];
  for await (const f of repo.backend.list('locks')) ids.push(f.name);
  const out: LockFileContent[] = [];
  for (const id of ids.sort()) {
    try {
      const bytes = await repo.backend.load({ type: 'locks', name: id });
      out.push({ id, record: validateLock(unsealJson<unknown>(repo.cipher, bytes, `locks/${id}`), id) });
    } catch (err) {
      if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') continue;
      if (isEbmError(err) && err.code === 'E_CORRUPT_OBJECT') out.push({ id, problem: err.message });
      else throw err;
    }
  }
  return out;
}

function validateLock(doc: unknown, id: string): LockRecord {
  const r = doc as Partial<LockRecord> | null;
  const ok =
    typeof r === 'object' && r !== null && r.v === 1 && typeof r.time === 'string' && !Number.isNaN(Date.parse(r.time)) &&
    typeof r.exclusive === 'boolean' && typeof r.host === 'string' && Number.isInteger(r.pid) && typeof r.username === 'string' && typeof r.operation === 'string';
  if (!ok) throw new EbmError('E_CORRUPT_OBJECT', `locks/${id}: not a version-1 lock record`, { subject: `locks/${id}` });
  return r as LockRecord;
}

import { EbmError, isEbmError } from '@ebm/sdk';

/** What a failing SQLite call was doing, for the message. */
export interface FailureContext {
  readonly path: string;
  readonly op: 'backup' | 'restore' | 'discover';
  /** The busy timeout in effect, named in E_SOURCE_BUSY messages. */
  readonly busyTimeoutMs: number;
  /** 'source' when reading what is backed up, 'target' when checking a file a restore replaces. */
  readonly role: 'source' | 'target';
}

/** The extended result code better-sqlite3 puts on its SqliteError (e.g. 'SQLITE_BUSY_RECOVERY'). */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** True for SQLITE_BUSY and its extended codes: another connection holds a conflicting lock. */
export function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY_') === true || code === 'SQLITE_LOCKED';
}

/**
 * Maps an error thrown by better-sqlite3 to a typed EbmError naming the file.
 * EbmErrors pass through; an error SQLite did not raise is returned unchanged
 * (the SDK reports it as E_PLUGIN_FAILED with its message).
 */
export function toEbmError(err: unknown, ctx: FailureContext): unknown {
  if (isEbmError(err)) return err;
  const code = sqliteCode(err);
  if (code === undefined) return err;
  const detail = (err as Error).message;
  const options = { subject: ctx.path, op: ctx.op, cause: err };
  if (isBusy(err)) {
    if (ctx.role === 'target') {
      return new EbmError('E_TARGET_IN_USE', `${ctx.path} is open in another process (${detail}); stop the application using it, or restore to another directory`, options);
    }
    return new EbmError(
      'E_SOURCE_BUSY',
      `${ctx.path} stayed locked by another process for the whole ${ctx.busyTimeoutMs} ms wait (${detail}); back up again when its write ends, or raise --busy-timeout`,
      options,
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new EbmError('E_INVALID_SOURCE', `${ctx.path} is not an SQLite database (${detail}); check the path, or use the translator made for this file`, options);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new EbmError('E_SOURCE_CORRUPT', `${ctx.path} is a damaged SQLite database (${detail}); repair it (PRAGMA integrity_check, .recover) and back up again`, options);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new EbmError('E_SOURCE_NOT_FOUND', `${ctx.path} cannot be opened (${detail}); it may have been removed or its directory is not accessible`, options);
  }
  if (code === 'SQLITE_PERM' || code === 'SQLITE_AUTH' || code.startsWith('SQLITE_READONLY')) {
    return new EbmError('E_PERMISSION', `${ctx.path} cannot be ${ctx.role === 'source' ? 'read' : 'written'} by this user (${detail})`, options);
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new EbmError('E_INVALID_SOURCE', `reading ${ctx.path} failed with an I/O error (${detail})`, { ...options, retryable: true });
  }
  return err;
}

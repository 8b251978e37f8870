import { EbmError, isEbmError } from '@ebm/sdk';

export const PLUGIN_ID = 'overlay';

/** A source the provider cannot use: E_INVALID_SOURCE naming it and what to do. */
export function invalidSource(message: string, subject: string, op: string): EbmError {
  return new EbmError('E_INVALID_SOURCE', message, { plugin: PLUGIN_ID, op, subject });
}

/** A filesystem error as a typed EbmError: missing → E_SOURCE_NOT_FOUND, denied → E_PERMISSION, else E_INVALID_SOURCE. */
export function fsError(err: unknown, subject: string, op: string): EbmError {
  if (isEbmError(err)) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new EbmError('E_SOURCE_NOT_FOUND', `${subject} does not exist (${message}); check the source`, { plugin: PLUGIN_ID, op, subject, cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new EbmError('E_PERMISSION', `cannot read ${subject} (${message}); run as a user that can read the layer directories (overlay xattrs need root)`, { plugin: PLUGIN_ID, op, subject, cause: err });
  return new EbmError('E_INVALID_SOURCE', `cannot read ${subject}: ${message}`, { plugin: PLUGIN_ID, op, subject, cause: err });
}

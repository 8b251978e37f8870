/**
 * Small helpers to classify errors thrown by `fs` and by @napi-rs/xattr
 * (whose errors carry the errno only in the message: "… (os error 2)").
 */

/** The `code` of a Node system error (ENOENT, EACCES, …), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function isPermissionDenied(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'EACCES' || code === 'EPERM';
}

const OS_ERROR = /\(os error (\d+)\)/;
const LINUX_ERRNO: Readonly<Record<number, string>> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 20: 'ENOTDIR', 61: 'ENODATA', 95: 'ENOTSUP' };

/** errno name of an @napi-rs/xattr error (it reports "Operation not supported (os error 95)"). */
export function xattrErrno(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null)?.message;
  const match = typeof message === 'string' ? OS_ERROR.exec(message) : null;
  return match ? LINUX_ERRNO[Number(match[1])] ?? `errno ${match[1]}` : errnoCode(err);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import * as path from 'node:path';
import { assertSafeName } from '../entry/tree-codec';
import { EbmError } from '../errors/ebm-error';

/**
 * Splits a snapshot-relative POSIX path ('etc/hosts') into its components,
 * each checked with assertSafeName. Throws E_UNSAFE_PATH for an empty path,
 * an absolute path, a '..' or '.' component, or an empty component ('a//b',
 * a trailing '/').
 */
export function splitSafePath(relPath: string): string[] {
  if (typeof relPath !== 'string' || relPath === '') {
    throw new EbmError('E_UNSAFE_PATH', `unsafe entry path ${JSON.stringify(relPath)}: a path must be a non-empty relative POSIX path`, {
      subject: String(relPath),
    });
  }
  if (relPath.startsWith('/')) {
    throw new EbmError('E_UNSAFE_PATH', `unsafe entry path ${JSON.stringify(relPath)}: absolute paths are not allowed`, { subject: relPath });
  }
  const parts = relPath.split('/');
  for (const part of parts) {
    try {
      assertSafeName(part);
    } catch {
      throw new EbmError('E_UNSAFE_PATH', `unsafe entry path ${JSON.stringify(relPath)}: component ${JSON.stringify(part)} is not allowed`, {
        subject: relPath,
      });
    }
  }
  return parts;
}

/**
 * The absolute path of `relPath` inside `targetDir`, after checking every
 * component (see splitSafePath). The result is always strictly inside the
 * resolved target directory. It does not look at the filesystem: refusing to
 * write through a symlink planted in the target is the translator's job.
 */
export function resolveInside(targetDir: string, relPath: string): string {
  const parts = splitSafePath(relPath);
  const root = path.resolve(targetDir);
  const full = path.join(root, ...parts);
  const rel = path.relative(root, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new EbmError('E_UNSAFE_PATH', `unsafe entry path ${JSON.stringify(relPath)}: it resolves outside ${root}`, { subject: relPath });
  }
  return full;
}

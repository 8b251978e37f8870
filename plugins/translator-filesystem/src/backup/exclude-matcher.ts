import { promises as fsp } from 'node:fs';
import ignore from 'ignore';
import { EbmError } from '@ebm/sdk';
import { isNotFound, isPermissionDenied, messageOf } from '../fs-errors';

/** Decides whether a source-relative path is left out of the backup. */
export interface ExcludeMatcher {
  /** `relPath` is POSIX and relative to the source root; `isDir` lets patterns like `build/` match. */
  excludes(relPath: string, isDir: boolean): boolean;
}

const NOTHING_EXCLUDED: ExcludeMatcher = { excludes: () => false };

/**
 * Builds a gitignore-style matcher (the `ignore` package) from `--exclude`
 * patterns and the lines of each `--exclude-file` ('#' comments and blank
 * lines are ignored, as in .gitignore). A missing or unreadable exclude file
 * is an operator error: E_INVALID_OPTION naming the file.
 */
export async function buildExcludeMatcher(patterns: readonly string[], excludeFiles: readonly string[]): Promise<ExcludeMatcher> {
  const all = [...patterns];
  for (const file of excludeFiles) {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      const why = isNotFound(err) ? 'does not exist' : isPermissionDenied(err) ? 'is not readable' : `cannot be read (${messageOf(err)})`;
      throw new EbmError('E_INVALID_OPTION', `exclude file ${file} ${why}; fix --exclude-file`, { subject: file, cause: err });
    }
    all.push(...text.split(/\r?\n/));
  }
  const rules = all.filter((line) => line.trim() !== '' && !line.startsWith('#'));
  if (rules.length === 0) return NOTHING_EXCLUDED;
  const ig = ignore().add(rules);
  return { excludes: (relPath, isDir) => ig.ignores(isDir ? `${relPath}/` : relPath) };
}

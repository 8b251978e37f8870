import { EbmError, OptionValue } from '@ebm/sdk';

/** The backup options of this translator (declared in the manifest's "options"). */
export interface BackupOptions {
  /** gitignore-style patterns, relative to the source root. */
  readonly exclude: readonly string[];
  /** Files holding more patterns, one per line. */
  readonly excludeFiles: readonly string[];
  /** Record extended attributes (default true). */
  readonly xattrs: boolean;
  /** Do not descend into directories on another filesystem (default false). */
  readonly oneFileSystem: boolean;
  /** A file listing exactly the entries to back up (src/backup/path-list-walk.ts); unset = walk everything. */
  readonly pathsFrom?: string;
}

/**
 * Reads this translator's options from the (already manifest-validated) option
 * record, applying defaults. A wrongly typed value is refused with
 * E_INVALID_OPTION naming the option, so a direct caller cannot slip past.
 */
export function parseBackupOptions(raw: Readonly<Record<string, OptionValue>>): BackupOptions {
  return {
    exclude: stringList(raw, 'exclude'),
    excludeFiles: stringList(raw, 'exclude-file'),
    xattrs: flag(raw, 'xattrs', true),
    oneFileSystem: flag(raw, 'one-file-system', false),
    ...pathsFrom(raw),
  };
}

function stringList(raw: Readonly<Record<string, OptionValue>>, name: string): readonly string[] {
  const value = raw[name];
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as readonly string[];
  throw new EbmError('E_INVALID_OPTION', `option --${name} must be a list of strings, got ${JSON.stringify(value)}`, { subject: name });
}

function pathsFrom(raw: Readonly<Record<string, OptionValue>>): { pathsFrom?: string } {
  const value = raw['paths-from'];
  if (value === undefined) return {};
  if (typeof value === 'string' && value !== '') return { pathsFrom: value };
  throw new EbmError('E_INVALID_OPTION', `option --paths-from must name a file listing the paths to back up, got ${JSON.stringify(value)}`, { subject: 'paths-from' });
}

function flag(raw: Readonly<Record<string, OptionValue>>, name: string, fallback: boolean): boolean {
  const value = raw[name];
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new EbmError('E_INVALID_OPTION', `option --${name} must be true or false, got ${JSON.stringify(value)}`, { subject: name });
}

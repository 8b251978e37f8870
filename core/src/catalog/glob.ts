import { EbmError } from '@ebm/sdk';

/**
 * `find` patterns, gitignore-like:
 * - no `/` (other than a trailing one): matches the name at any depth (`*.pdf`);
 * - with a `/` at the start or in the middle: matches the whole snapshot-relative
 *   path, anchored at the snapshot root (`docs/*.md`, `/etc/passwd`);
 * - `*` any characters but `/`, `?` one character but `/`, `[abc]`, `[a-z]`,
 *   `[!abc]` (or `[^abc]`) one character of (not of) a set, `\x` a literal x;
 * - `**` as a whole segment: any number of directories (`docs/**\/report*`,
 *   `**\/cache`), and as the last segment everything inside (`docs/**`);
 * - a trailing `/` matches directories only.
 * Matching is case-sensitive, like the paths it matches.
 */
export interface CompiledPattern {
  /** Matches a snapshot-relative path. */
  readonly regex: RegExp;
  /** An SQLite GLOB for the name (last segment), used to narrow the search; undefined: any name. */
  readonly nameGlob?: string;
  readonly dirsOnly: boolean;
  /**
   * For anchored patterns: false for a directory (snapshot-relative path, ''
   * for the root) below which no path can match, so a walk down can skip it.
   */
  readonly mayContainMatches?: (dir: string) => boolean;
}

export function compilePattern(pattern: string): CompiledPattern {
  if (pattern.trim() === '' || pattern === '/') throw new EbmError('E_USAGE', 'find: the pattern is empty; give e.g. "*.pdf" or "docs/**/report*"');
  const dirsOnly = pattern.endsWith('/');
  const body = pattern.replace(/\/+$/, '');
  const anchored = body.includes('/');
  const segments = body.replace(/^\/+/, '').split('/');
  if (segments.some((s) => s === '')) throw new EbmError('E_USAGE', `find: pattern ${JSON.stringify(pattern)} has an empty path segment`);
  const last = segments[segments.length - 1]!;
  let source = anchored ? '' : '(?:.*/)?';
  segments.forEach((seg, i) => {
    const afterGlobstar = i > 0 && segments[i - 1] === '**';
    if (seg === '**') {
      if (segments.length === 1) source += '.*';
      else if (i === 0) source += '(?:.*/)?';
      else if (i === segments.length - 1) source += '/.+';
      else source += '(?:/.*)?/';
      return;
    }
    source += (i > 0 && !afterGlobstar ? '/' : '') + segmentRegex(seg);
  });
  const filter = anchored ? dirFilter(segments) : undefined;
  const compiled: CompiledPattern = { regex: new RegExp(`^${source}$`, 's'), dirsOnly, ...(filter ? { mayContainMatches: filter } : {}) };
  return last === '**' ? compiled : { ...compiled, nameGlob: sqliteGlob(last) };
}

/** A directory can hold matches if its components match the pattern's leading segments (up to a `**`). */
function dirFilter(segments: readonly string[]): ((dir: string) => boolean) | undefined {
  const globstar = segments.indexOf('**');
  const fixed = globstar < 0 ? segments.length - 1 : globstar;
  if (fixed === 0) return undefined;
  const maxDepth = globstar < 0 ? segments.length - 1 : Infinity;
  const leading = segments.slice(0, fixed).map((seg) => new RegExp(`^${segmentRegex(seg)}$`, 's'));
  return (dir) => {
    const parts = dir === '' ? [] : dir.split('/');
    if (parts.length > maxDepth) return false;
    for (let i = 0; i < Math.min(parts.length, leading.length); i++) if (!leading[i]!.test(parts[i]!)) return false;
    return true;
  };
}

/** One path segment → a regex that never matches '/'. */
function segmentRegex(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) out += escapeRegex(seg[++i]!);
    else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let inner = seg.slice(i + 1, end);
      const negated = inner.startsWith('!') || inner.startsWith('^');
      if (negated) inner = inner.slice(1);
      out += `(?:(?!/)[${negated ? '^' : ''}${inner.replace(/[\\\]]/g, '\\$&').replace(/^\^/, '\\^')}])`;
      i = end;
    } else out += escapeRegex(c);
  }
  return out;
}

/** One segment → SQLite GLOB syntax (which has `[^…]` for negation and no escape character). */
function sqliteGlob(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) {
      const lit = seg[++i]!;
      out += '*?['.includes(lit) ? `[${lit}]` : lit;
    } else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) {
        out += '[[]';
        continue;
      }
      const inner = seg.slice(i + 1, end);
      out += `[${inner.startsWith('!') ? `^${inner.slice(1)}` : inner}]`;
      i = end;
    } else out += c;
  }
  return out;
}

/** Index of the `]` closing the class opened at `start` (a `]` right after `[`, `[!` or `[^` is literal), or -1. */
function classEnd(seg: string, start: number): number {
  let j = start + 1;
  if (seg[j] === '!' || seg[j] === '^') j++;
  if (seg[j] === ']') j++;
  const end = seg.indexOf(']', j);
  return end;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

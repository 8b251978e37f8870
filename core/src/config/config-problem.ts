import { EbmError } from '@ebm/sdk';

/** A path inside the configuration: keys and list indexes, e.g. ['datasets', 'home', 'tags', 1]. */
export type ConfigPath = readonly (string | number)[];

/** One thing wrong with a configuration file, at its place in the file. */
export interface ConfigProblem {
  /** 1-based line and column of the value (or key) at fault. */
  readonly line: number;
  readonly column: number;
  /** Dotted path, e.g. "datasets.home.schedule"; "(top level)" for the document itself; "" for syntax errors. */
  readonly path: string;
  /** In words, naming the offending value and what is expected. */
  readonly message: string;
}

/** "datasets.home.tags[1]"; keys that are not plain words are quoted: datasets["my set"]. */
export function formatConfigPath(path: ConfigPath): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z0-9_$-]+$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** `file:line:column: path: message` (no path for syntax errors) — the form editors and terminals link to. */
export function formatConfigProblem(file: string, problem: ConfigProblem): string {
  const where = problem.path === '' ? '' : `${problem.path}: `;
  return `${file}:${problem.line}:${problem.column}: ${where}${problem.message}`;
}

/**
 * The error of a configuration that does not load: one error listing every
 * problem (so the operator fixes them in one round), each with its place.
 *
 * Code E_CONFIG (exit code 2).
 */
export class ConfigError extends EbmError {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[]) {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column || a.message.localeCompare(b.message));
    const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
    super('E_CONFIG', `invalid configuration ${file} (${count}):\n${sorted.map((p) => `  ${formatConfigProblem(file, p)}`).join('\n')}`, {
      subject: file,
      op: 'config',
    });
    this.file = file;
    this.problems = sorted;
  }
}

/** Case-insensitive edit-distance match for "did you mean" hints (≤ 2 edits, ≤ 1 for short words; a swap of neighbours is one edit). */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = word.length <= 4 ? 1 : 2;
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps ("mian" → "main" is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

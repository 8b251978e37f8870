import { isDeepStrictEqual } from 'node:util';

/**
 * Readable differences between two plain-data values, as `path: a vs b`
 * lines (at most `limit`). Used to show why the in-process and worker runs
 * of a case disagree.
 */
export function describeDifferences(a: unknown, b: unknown, labels: readonly [string, string], limit = 10): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, at: string): void => {
    if (out.length >= limit || isDeepStrictEqual(x, y)) return;
    if (isRecord(x) && isRecord(y)) {
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[key], y[key], at === '' ? key : `${at}.${key}`);
      return;
    }
    out.push(`${at || '(value)'}: ${show(x)} (${labels[0]}) vs ${show(y)} (${labels[1]})`);
  };
  walk(a, b, '');
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function show(v: unknown): string {
  const text = v === undefined ? 'nothing' : JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

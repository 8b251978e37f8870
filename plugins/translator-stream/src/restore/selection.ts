import { EbmError, JsonValue } from '@ebm/sdk';
import type { SegmentPart } from '../layout';

/** Which segments of a framed stream a restore writes. */
export interface Selection {
  readonly describe: string;
  matches(segment: SegmentPart): boolean;
}

/**
 * Builds the selection from --segments ("0,3-5": indices and inclusive
 * ranges) and --time-range ("FROM..TO", either bound optional). A segment's
 * time span is its header's "start".."end" (end defaults to start); numbers
 * compare as numbers, other values as RFC 3339 times. A segment is in the
 * range when its span overlaps [FROM, TO]. Both options given: both must match.
 * Returns undefined when neither is given (the whole stream).
 */
export function parseSelection(segments: string | undefined, timeRange: string | undefined): Selection | undefined {
  const tests: Array<(s: SegmentPart) => boolean> = [];
  const parts: string[] = [];
  if (segments !== undefined) {
    const ranges = parseIndexList(segments);
    tests.push((s) => ranges.some(([from, to]) => s.index >= from && s.index <= to));
    parts.push(`--segments ${segments}`);
  }
  if (timeRange !== undefined) {
    const [from, to] = parseTimeRange(timeRange);
    tests.push((s) => {
      const start = timeValue(s.header.start);
      const end = timeValue(s.header.end) ?? start;
      if (start === undefined || end === undefined) return false;
      return (to === undefined || start <= to) && (from === undefined || end >= from);
    });
    parts.push(`--time-range ${timeRange}`);
  }
  if (tests.length === 0) return undefined;
  return { describe: parts.join(' '), matches: (s) => tests.every((t) => t(s)) };
}

function parseIndexList(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const item of text.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || to < from) throw new EbmError('E_INVALID_OPTION', `option --segments ${JSON.stringify(text)}: ${JSON.stringify(item)} is not an index or a range like 3-5`, { subject: 'segments' });
    out.push([from, to]);
  }
  return out;
}

function parseTimeRange(text: string): [number | undefined, number | undefined] {
  const dots = text.indexOf('..');
  if (dots < 0) throw new EbmError('E_INVALID_OPTION', `option --time-range ${JSON.stringify(text)} must be FROM..TO (either side may be empty)`, { subject: 'time-range' });
  const bound = (s: string): number | undefined => {
    if (s.trim() === '') return undefined;
    const v = timeValue(s.trim());
    if (v === undefined) throw new EbmError('E_INVALID_OPTION', `option --time-range: ${JSON.stringify(s)} is neither a number nor an RFC 3339 time`, { subject: 'time-range' });
    return v;
  };
  return [bound(text.slice(0, dots)), bound(text.slice(dots + 2))];
}

/** A header time: a number as it is, a numeric string as a number, an RFC 3339 string as epoch milliseconds. */
function timeValue(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

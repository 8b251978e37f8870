import { CronExpressionParser } from 'cron-parser';

/**
 * Cron expressions as the host configuration and the scheduler read them:
 * 5 fields (minute hour day-of-month month day-of-week) or 6 (a leading
 * seconds field), or one of the predefined names (@daily, @hourly, …).
 * cron-parser alone would also take 4 or fewer fields (filling the rest with
 * "*"), which turns a typo into a job that runs every minute; we refuse that.
 *
 * Next times are always computed from the expression (never by adding an
 * interval to the last run), so a schedule never drifts.
 */

const PREDEFINED = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@weekdays', '@weekends']);

/** The host's own time zone (IANA name), the default of every schedule. */
export function hostTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Why `name` is not an IANA time zone, or undefined when it is one. */
export function explainBadTimezone(name: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return undefined;
  } catch {
    return `"${name}" is not a known time zone (use an IANA name like "UTC" or "Europe/Berlin")`;
  }
}

/** Why `expression` is not a usable cron expression, or undefined when it is one. */
export function explainBadCron(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed.startsWith('@')) {
    return PREDEFINED.has(trimmed) ? undefined : `"${expression}" is not a valid cron expression (known names: ${[...PREDEFINED].join(', ')})`;
  }
  const fields = trimmed === '' ? 0 : trimmed.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `"${expression}" is not a valid cron expression (5 or 6 fields: [second] minute hour day-of-month month day-of-week; got ${fields})`;
  }
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC', currentDate: 0 }).next();
    return undefined;
  } catch (err) {
    return `"${expression}" is not a valid cron expression (${(err as Error).message})`;
  }
}

/** A parsed schedule: asks for occurrences around a time. Times are epoch milliseconds. */
export class CronSchedule {
  readonly expression: string;
  readonly timezone: string;

  /** Throws a RangeError with the explanation when the expression or zone is bad. */
  constructor(expression: string, timezone: string = hostTimezone()) {
    const problem = explainBadCron(expression) ?? explainBadTimezone(timezone);
    if (problem !== undefined) throw new RangeError(problem);
    this.expression = expression.trim();
    this.timezone = timezone;
  }

  /** The first occurrence strictly after `time`. */
  nextAfter(time: number): number {
    return CronExpressionParser.parse(this.expression, { currentDate: time, tz: this.timezone }).next().getTime();
  }

  /** The last occurrence at or before `time`. */
  lastAtOrBefore(time: number): number {
    return CronExpressionParser.parse(this.expression, { currentDate: time + 1, tz: this.timezone }).prev().getTime();
  }
}

import { EbmError, ErrorRecord, isEbmError, toErrorRecord } from '@ebm/sdk';

/**
 * Everything the CLI prints goes through an Output: human text on a terminal,
 * or one JSON object per line with --json (progress, warnings, results and
 * errors alike), so programs never have to parse prose.
 */
export interface JsonLine {
  readonly type: 'progress' | 'warning' | 'summary' | 'result' | 'error' | 'log' | 'step';
  readonly [key: string]: unknown;
}

export class Output {
  constructor(
    readonly json: boolean,
    readonly quiet: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A line of human output (suppressed with --json or --quiet). */
  info(text: string): void {
    if (!this.json && !this.quiet) this.out.write(`${text}\n`);
  }

  /** Primary human output that --quiet keeps (e.g. the listing of `ebm ls`). */
  print(text: string): void {
    if (!this.json) this.out.write(`${text}\n`);
  }

  /** A JSON line (only with --json). */
  line(value: JsonLine): void {
    if (this.json) this.out.write(`${JSON.stringify(value)}\n`);
  }

  warn(text: string): void {
    if (!this.json) this.err.write(`warning: ${text}\n`);
  }

  /** Prints an error and returns the exit code for it. */
  error(err: unknown): number {
    const record: ErrorRecord = isEbmError(err) ? (err as EbmError).toRecord() : toErrorRecord(err);
    const typed = EbmError.fromRecord(record);
    if (this.json) {
      const { stack: _stack, ...rest } = record;
      this.out.write(`${JSON.stringify({ type: 'error', error: rest })}\n`);
    } else {
      this.err.write(`ebm: error ${record.code}: ${record.message}\n`);
      for (let c = record.cause; c; c = c.cause) this.err.write(`  caused by ${c.code}: ${c.message}\n`);
      this.err.write(`  hint: ${typed.hint}\n`);
      if (process.env.EBM_DEBUG && record.stack) this.err.write(`${record.stack}\n`);
    }
    return typed.exitCode;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')} min`;
}

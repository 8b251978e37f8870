import * as fs from 'node:fs';
import type { JsonValue } from '@ebm/sdk';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields every line of a child logger carries (e.g. { job, plugin, dataset }). */
export type LogFields = Readonly<Record<string, JsonValue | undefined>>;

export interface LogSink {
  write(line: string): void;
}

/**
 * Structured logs for the host process: one JSON object per line
 * `{"time","level","msg",…fields}`. Child loggers bind fields so that every
 * line of a job carries its `job` and `plugin` ids. Writing is synchronous
 * per line (a line is never interleaved or lost when the host is killed
 * after it was logged).
 */
export class Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly minLevel: LogLevel = 'info',
    private readonly bound: LogFields = {},
  ) {}

  child(fields: LogFields): Logger {
    return new Logger(this.sink, this.minLevel, { ...this.bound, ...fields });
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.minLevel]) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    for (const source of [this.bound, fields ?? {}]) {
      for (const [k, v] of Object.entries(source)) if (v !== undefined) line[k] = v;
    }
    this.sink.write(`${JSON.stringify(line)}\n`);
  }
}

/** A sink appending to a file (created with mode 0600) or writing to a stream such as stderr. */
export function fileSink(file: string): LogSink & { close(): void } {
  const fd = fs.openSync(file, 'a', 0o600);
  return {
    write: (line) => {
      fs.writeSync(fd, line);
    },
    close: () => fs.closeSync(fd),
  };
}

export function streamSink(stream: NodeJS.WritableStream = process.stderr): LogSink {
  return { write: (line) => void stream.write(line) };
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(RANK, value);
}

import type { JsonValue } from '../entry/entry';
import { isErrorCode } from '../errors/catalogue';
import type { LogMessage } from '../protocol/messages';
import type { Logger, ProgressReporter, ProgressUpdate, Warning } from '../translator/context';
import type { PortChannel } from './port-channel';

/** At most this many progress messages per second reach the host (plus a final one). */
export const PROGRESS_INTERVAL_MS = 100;
/** Warnings kept in the task result; later ones are only counted (and still sent as messages). */
export const WARNINGS_KEPT = 1000;

/**
 * The plugin's voice towards the host: throttled progress, log lines and
 * per-item warnings, all as protocol notices.
 */
export class Reporting {
  readonly warnings: Warning[] = [];
  warningsDropped = 0;
  readonly progress: ProgressReporter;
  readonly log: Logger;
  readonly #channel: PortChannel;
  #latest: ProgressUpdate | undefined;
  #lastSentAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(channel: PortChannel) {
    this.#channel = channel;
    this.progress = Object.freeze({ update: (p: ProgressUpdate) => this.#update(p) });
    const line = (level: LogMessage['level']) => (message: string, fields?: Record<string, JsonValue>) => this.#log(level, message, fields);
    this.log = Object.freeze({ debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') });
  }

  /** Records a warning (bounded) and sends it to the host. */
  warn(warning: Warning): void {
    if (typeof warning !== 'object' || warning === null) throw new TypeError('warn(warning): warning must be { path, code, message }');
    const clean: Warning = {
      path: String(warning.path ?? ''),
      code: isErrorCode(warning.code) ? warning.code : 'E_INTERNAL',
      message: String(warning.message ?? ''),
    };
    if (this.warnings.length < WARNINGS_KEPT) this.warnings.push(clean);
    else this.warningsDropped++;
    this.#channel.notify({ t: 'warning', warning: clean });
  }

  /** Sends the last progress update if it was held back by the throttle; stops the timer. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#send();
  }

  #update(progress: ProgressUpdate): void {
    this.#latest = cleanProgress(progress);
    const wait = this.#lastSentAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.#send();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#send();
      }, wait);
      this.#timer.unref();
    }
  }

  #send(): void {
    if (this.#latest === undefined) return;
    this.#channel.notify({ t: 'progress', progress: this.#latest });
    this.#latest = undefined;
    this.#lastSentAt = Date.now();
  }

  #log(level: LogMessage['level'], message: string, fields?: Record<string, JsonValue>): void {
    const base = { t: 'log' as const, level, message: String(message) };
    if (fields === undefined) {
      this.#channel.notify(base);
      return;
    }
    let plain: Record<string, JsonValue> | undefined;
    try {
      plain = JSON.parse(JSON.stringify(fields)) as Record<string, JsonValue>; // drops what cannot cross a thread
    } catch {
      plain = { unserializableFields: true };
    }
    this.#channel.notify({ ...base, fields: plain });
  }
}

function cleanProgress(p: ProgressUpdate): ProgressUpdate {
  const out: { -readonly [K in keyof ProgressUpdate]: ProgressUpdate[K] } = {};
  for (const key of ['files', 'bytes', 'totalFiles', 'totalBytes'] as const) {
    const v = p?.[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  }
  if (typeof p?.currentPath === 'string') out.currentPath = p.currentPath;
  return out;
}

import type { ProgressUpdate } from '@ebm/sdk';
import type { HostEvents, JobLogEvent, JobProgressEvent, JobWarningEvent } from '../events/host-events';
import { formatBytes, Output } from './output';

/**
 * Live progress for long operations: one redrawn status line on a terminal
 * (files, bytes, rate, ETA), JSON lines with --json, nothing otherwise.
 * Redraws are throttled so a chatty plugin cannot flood the terminal.
 */
export class ProgressDisplay {
  private readonly started = Date.now();
  private last: ProgressUpdate = {};
  private lastDraw = 0;
  private lastJson = 0;
  private drawn = false;

  constructor(
    private readonly op: string,
    private readonly output: Output,
    private readonly tty: NodeJS.WriteStream | undefined = process.stderr.isTTY ? process.stderr : undefined,
  ) {}

  update = (progress: ProgressUpdate): void => {
    // Fields a plugin leaves out (or undefined) keep their previous value, so
    // totals seeded by the host survive updates that do not carry them.
    const merged: Record<string, unknown> = { ...this.last };
    for (const [k, v] of Object.entries(progress)) if (v !== undefined) merged[k] = v;
    this.last = merged as ProgressUpdate;
    const now = Date.now();
    if (this.output.json) {
      if (now - this.lastJson >= 250) {
        this.lastJson = now;
        this.output.line({ type: 'progress', op: this.op, elapsedMs: now - this.started, ...this.last });
      }
      return;
    }
    if (!this.tty || this.output.quiet || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(now);
  };

  /**
   * Follows the host's job events (progress, warnings, plugin warnings and
   * errors) until the returned function is called. The CLI runs one job at a
   * time, so every job event is this display's.
   */
  attach(events: HostEvents): () => void {
    const onProgress = (e: JobProgressEvent) => this.update(e.progress);
    const onWarning = (e: JobWarningEvent) => {
      this.clearLine();
      this.output.warn(`${e.warning.path}: ${e.warning.message} (${e.warning.code})`);
      this.output.line({ type: 'warning', ...e.warning });
    };
    const onLog = (e: JobLogEvent) => {
      if (e.level !== 'warn' && e.level !== 'error') return;
      this.clearLine();
      this.output.warn(`[${e.pluginId}] ${e.message}`);
      this.output.line({ type: 'log', level: e.level, plugin: e.pluginId, message: e.message, ...(e.fields ? { fields: e.fields } : {}) });
    };
    events.on('job:progress', onProgress);
    events.on('job:warning', onWarning);
    events.on('job:log', onLog);
    return () => {
      events.off('job:progress', onProgress);
      events.off('job:warning', onWarning);
      events.off('job:log', onLog);
      this.done();
    };
  }

  private clearLine(): void {
    if (this.drawn && this.tty) this.tty.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Clears the status line (call before printing the summary). */
  done(): void {
    if (this.output.json) this.output.line({ type: 'progress', op: this.op, elapsedMs: Date.now() - this.started, ...this.last, done: true });
    if (this.drawn && this.tty) this.tty.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(now: number): void {
    const p = this.last;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const bytes = p.bytes ?? 0;
    const rate = bytes / secs;
    const parts = [this.op];
    parts.push(p.totalFiles ? `${p.files ?? 0}/${p.totalFiles} files` : `${p.files ?? 0} files`);
    parts.push(p.totalBytes ? `${formatBytes(bytes)}/${formatBytes(p.totalBytes)}` : formatBytes(bytes));
    parts.push(`${formatBytes(rate)}/s`);
    if (p.totalBytes && rate > 0 && bytes < p.totalBytes) {
      const eta = Math.round((p.totalBytes - bytes) / rate);
      parts.push(`ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`);
    }
    let line = parts.join('  ');
    if (p.currentPath) line += `  ${p.currentPath}`;
    const width = this.tty?.columns ?? 100;
    if (line.length > width - 1) line = `${line.slice(0, width - 2)}…`;
    this.tty!.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }
}

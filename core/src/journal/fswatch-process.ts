import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * One `fswatch` process (Debian package `fswatch`, inotify monitor) watching
 * a directory tree recursively. fswatch is used rather than @parcel/watcher,
 * fs.watch or inotifywait because it is the one that reports an inotify
 * queue overflow (`--allow-overflow` turns IN_Q_OVERFLOW into an `Overflow`
 * event) — the others drop it silently, and a journal that can lose events
 * without knowing must never be trusted.
 *
 * Contract: `onChange(absPath)` for every change fswatch reports;
 * `onGap(reason)` once when the journal can no longer be complete (overflow,
 * the process failed to start or exited, the root was moved or removed);
 * after a gap nothing more is reported. `ready` resolves once fswatch holds a
 * watch for every directory that existed when it started (read from
 * /proc/PID/fdinfo), so changes after that moment are not missed.
 */
export interface FswatchCallbacks {
  onChange(absPath: string): void;
  onGap(reason: string): void;
}

/** fswatch batches events; this is its latency (seconds). A cut waits longer than this (see ChangeJournal). */
export const FSWATCH_LATENCY_S = 0.02;

const EVENTS = ['Created', 'Updated', 'Removed', 'Renamed', 'OwnerModified', 'AttributeModified', 'MovedFrom', 'MovedTo', 'Overflow'];

export class FswatchProcess {
  readonly ready: Promise<void>;
  readonly #child: ChildProcess;
  readonly #root: string;
  readonly #callbacks: FswatchCallbacks;
  #buffer = '';
  #stderrTail = '';
  #stopped = false;
  #gap = false;

  constructor(root: string, callbacks: FswatchCallbacks, command = 'fswatch') {
    this.#root = root;
    this.#callbacks = callbacks;
    const args = ['-r', '-0', '--allow-overflow', '-m', 'inotify_monitor', '--latency', String(FSWATCH_LATENCY_S), '--event-flag-separator', ',', '--format', '%f|%p'];
    for (const e of EVENTS) args.push('--event', e);
    this.#child = spawn(command, [...args, root], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#parse(chunk));
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderrTail = (this.#stderrTail + chunk).slice(-2000)));
    const started = new Promise<void>((resolve, reject) => {
      this.#child.once('spawn', resolve);
      this.#child.once('error', (err: NodeJS.ErrnoException) => {
        const reason = err.code === 'ENOENT' ? `${command} is not installed (apt-get install fswatch)` : `${command} could not be started: ${err.message}`;
        this.#raiseGap(reason);
        reject(new Error(reason));
      });
    });
    this.#child.once('exit', (code, signal) => {
      if (!this.#stopped) this.#raiseGap(`fswatch exited (${signal ?? `code ${code}`})${this.#stderrTail ? `: ${this.#stderrTail.trim().split('\n').pop()}` : ''}`);
    });
    this.ready = started.then(() => this.#waitForWatches());
    this.ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  stop(): void {
    this.#stopped = true;
    this.#child.kill('SIGTERM');
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\0')) >= 0) {
      const record = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 1);
      const bar = record.indexOf('|');
      if (bar < 0) continue;
      const flags = record.slice(0, bar).split(',');
      const absPath = record.slice(bar + 1);
      if (flags.includes('Overflow')) {
        this.#raiseGap('the kernel\'s inotify event queue overflowed (raise fs.inotify.max_queued_events): changes were lost');
      } else if (absPath === this.#root && (flags.includes('Removed') || flags.includes('MovedFrom') || flags.includes('Renamed'))) {
        this.#raiseGap(`the watched root ${this.#root} was moved or removed`);
      } else if (!this.#gap) {
        this.#callbacks.onChange(absPath);
      }
    }
  }

  #raiseGap(reason: string): void {
    if (this.#gap) return;
    this.#gap = true;
    this.#callbacks.onGap(reason);
  }

  /**
   * fswatch adds its inotify watches before reading events, without saying
   * when it is done: poll its watch count until it covers the directories.
   */
  async #waitForWatches(): Promise<void> {
    const dirs = countDirectories(this.#root);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (this.#gap) throw new Error('fswatch stopped before its watches were set up');
      if (inotifyWatches(this.#child.pid!) >= dirs) return;
      if (Date.now() > deadline) throw new Error(`fswatch set up fewer than ${dirs} watches in 120 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function countDirectories(root: string): number {
  let count = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    count++;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) stack.push(path.join(dir, e.name));
  }
  return count;
}

/** The number of inotify watches a process holds (lines "inotify wd:" in /proc/PID/fdinfo/*). */
function inotifyWatches(pid: number): number {
  let total = 0;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return 0;
  }
  for (const fd of fds) {
    try {
      const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      if (info.includes('inotify wd:')) total += info.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // the fd closed meanwhile
    }
  }
  return total;
}

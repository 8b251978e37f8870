import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { EbmError } from '@ebm/sdk';
import { TailBuffer, describeArgv, stderrNote } from '../tail-buffer';

/** How the producer ended, as Node's 'close' event reports it (after exit and drained stdio). */
export interface ProducerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
}

/** Grace between SIGTERM and SIGKILL when a producer must be stopped. */
const KILL_GRACE_MS = 2000;

/**
 * A command run without a shell (so `false | cat` cannot hide a failure, and
 * no word is interpreted), its standard output the stream. Standard input is
 * closed (a producer cannot wait for a prompt); standard error is kept as a
 * bounded tail for the error message and the snapshot.
 *
 * `stdout` is read with backpressure: while nobody iterates it, the pipe
 * fills and the producer blocks in write(2) — a slow repository slows the
 * producer instead of filling memory.
 */
export class Producer {
  readonly argv: readonly string[];
  readonly #child: ChildProcess;
  readonly #stderr = new TailBuffer(4096);
  readonly #closed: Promise<ProducerExit>;
  #spawnError: Error | undefined;
  #killTimer: NodeJS.Timeout | undefined;

  private constructor(argv: readonly string[], child: ChildProcess) {
    this.argv = argv;
    this.#child = child;
    child.stderr!.on('data', (d: Buffer) => this.#stderr.push(d));
    this.#closed = new Promise((resolve) => {
      child.once('error', (err) => {
        this.#spawnError = err;
        // A spawn failure emits 'error' and, since Node 15, no 'close' when nothing was started.
        if (child.pid === undefined) resolve({ code: null, signal: null, stderrTail: '' });
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.#killTimer) clearTimeout(this.#killTimer);
        resolve({ code, signal, stderrTail: this.#stderr.text() });
      });
    });
  }

  /** Starts `argv` (argv[0] is looked up on PATH, never given to a shell). */
  static start(argv: readonly string[]): Producer {
    if (argv.length === 0 || argv[0] === '') throw new EbmError('E_USAGE', 'no command given: put it after --, e.g. ebm backup -t stream --from-command -- pg_dump mydb');
    const child = spawn(argv[0]!, argv.slice(1), { shell: false, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    return new Producer(argv, child);
  }

  /** The producer's standard output. */
  get stdout(): AsyncIterable<Uint8Array> {
    return this.#child.stdout! as AsyncIterable<Uint8Array>;
  }

  /**
   * Waits for 'close' and decides: the stream is good only if the command
   * exited with code 0 and no signal. Throws E_SOURCE_NOT_FOUND when the
   * command could not be started, E_PRODUCER_FAILED otherwise.
   */
  async finish(): Promise<ProducerExit> {
    const exit = await this.#closed;
    if (this.#spawnError !== undefined && this.#child.pid === undefined) throw this.#startError(this.#spawnError);
    if (exit.code === 0 && exit.signal === null) return exit;
    const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.code}`;
    throw new EbmError('E_PRODUCER_FAILED', `the producer command ${describeArgv(this.argv)} ${how}; no snapshot was recorded${stderrNote(exit.stderrTail)}`, {
      subject: this.argv[0],
      op: 'backup',
    });
  }

  /** The spawn error, if the command could not be started (reported once its stdout ends). */
  get startError(): EbmError | undefined {
    return this.#spawnError !== undefined && this.#child.pid === undefined ? this.#startError(this.#spawnError) : undefined;
  }

  /** Stops the producer (the backup failed or was cancelled): SIGTERM, then SIGKILL after a grace period. */
  stop(): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null || this.#child.pid === undefined) return;
    this.#child.kill('SIGTERM');
    this.#killTimer = setTimeout(() => this.#child.kill('SIGKILL'), KILL_GRACE_MS);
    this.#killTimer.unref();
  }

  #startError(err: Error): EbmError {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return new EbmError('E_SOURCE_NOT_FOUND', `the producer command ${JSON.stringify(this.argv[0])} was not found (looked up on PATH; no shell is used)`, { subject: this.argv[0], op: 'backup' });
    }
    if (code === 'EACCES') {
      return new EbmError('E_PERMISSION', `the producer command ${JSON.stringify(this.argv[0])} cannot be executed: permission denied`, { subject: this.argv[0], op: 'backup' });
    }
    return new EbmError('E_PRODUCER_FAILED', `the producer command ${describeArgv(this.argv)} could not be started: ${err.message}`, { subject: this.argv[0], op: 'backup' });
  }
}

import { spawn } from 'node:child_process';
import { EbmError } from '@ebm/sdk';
import { TailBuffer, describeArgv, stderrNote } from '../tail-buffer';
import { writeAll } from './fd-writer';
import type { Sink } from './sinks';

/**
 * A command, run without a shell, that reads the stream on its standard
 * input (`psql mydb`). Its standard output is the host's; its standard error
 * is passed through and its tail kept for the error message. The restore
 * succeeds only if the command read everything and exited 0 without a
 * signal (decided on 'close'). On abort (e.g. a hash mismatch) the command is
 * killed before its input ends, so a consumer that works in a transaction
 * (psql --single-transaction) rolls back instead of committing a bad stream.
 */
export function commandSink(argv: readonly string[]): Sink {
  const child = spawn(argv[0]!, argv.slice(1), { shell: false, stdio: ['pipe', 'inherit', 'pipe'], windowsHide: true });
  const stderr = new TailBuffer(4096);
  let inputError: NodeJS.ErrnoException | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  let written = 0;
  child.stderr!.on('data', (d: Buffer) => {
    stderr.push(d);
    void writeAll(2, d).catch(() => undefined);
  });
  child.stdin!.on('error', (err: NodeJS.ErrnoException) => (inputError ??= err));
  child.once('error', (err: NodeJS.ErrnoException) => (spawnError ??= err));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });

  const failure = async (why: string): Promise<EbmError> => {
    await closed;
    if (spawnError !== undefined && child.pid === undefined) {
      const notFound = spawnError.code === 'ENOENT';
      return new EbmError(notFound ? 'E_USAGE' : 'E_CONSUMER_FAILED', `the restore command ${JSON.stringify(argv[0])} ${notFound ? 'was not found (looked up on PATH; no shell is used)' : `could not be started: ${spawnError.message}`}`, {
        subject: argv[0],
        op: 'restore',
      });
    }
    return new EbmError('E_CONSUMER_FAILED', `the restore command ${describeArgv(argv)} ${why} after reading ${written} bytes${stderrNote(stderr.text())}`, { subject: argv[0], op: 'restore' });
  };
  const how = (exit: { code: number | null; signal: NodeJS.Signals | null }): string =>
    exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.code}`;

  return {
    describe: `the command ${describeArgv(argv)}`,
    write: async (data) => {
      if (inputError !== undefined || spawnError !== undefined || child.exitCode !== null) {
        const exit = await closed;
        throw await failure(exit.code === 0 && exit.signal === null ? 'stopped reading its input (exited 0 early)' : how(exit));
      }
      const stdin = child.stdin!;
      if (stdin.write(data)) {
        written += data.length;
        return;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('error', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('error', done);
        stdin.on('close', done);
      });
      if (inputError !== undefined) {
        const exit = await closed;
        throw await failure(exit.code === 0 && exit.signal === null ? 'stopped reading its input (exited 0 early)' : how(exit));
      }
      written += data.length;
    },
    commit: async () => {
      child.stdin!.end();
      const exit = await closed;
      if (inputError !== undefined && inputError.code !== 'EPIPE') throw await failure(`failed to take its input (${inputError.message})`);
      if (exit.code !== 0 || exit.signal !== null) throw await failure(how(exit));
      if (inputError !== undefined) throw await failure('stopped reading its input (exited 0 early)');
    },
    abort: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGTERM');
      child.stdin!.destroy();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}

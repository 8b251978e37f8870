import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

/** A running helper-process.js (see there for the modes). */
export interface HelperProcess {
  readonly child: ChildProcess;
  /** Resolves once the process printed 'ready' (it holds its lock, or the writer committed). */
  readonly ready: Promise<void>;
  /** Resolves with everything it printed once it has exited. */
  readonly exited: Promise<string>;
  /** Kills it (SIGKILL) and waits for the exit. */
  kill(): Promise<string>;
}

export type HelperMode = 'writer' | 'hold-exclusive' | 'hold-write' | 'hold-open';

export function startHelperProcess(mode: HelperMode, db: string, arg?: number): HelperProcess {
  const script = path.join(__dirname, 'helper-process.js');
  const child = spawn(process.execPath, [script, mode, db, ...(arg === undefined ? [] : [String(arg)])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(out);
      else reject(new Error(`helper ${mode} exited with ${code ?? signal}: ${err}`));
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    exited.then(() => reject(new Error(`helper ${mode} exited before it was ready: ${out}${err}`)), reject);
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    exited,
    kill: () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The number of commits a finished writer reported. */
export function writerCommits(output: string): number {
  const match = /commits (\d+)/.exec(output);
  if (!match) throw new Error(`the writer reported no commit count: ${output}`);
  return Number(match[1]);
}

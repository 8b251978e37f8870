import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The compiled CLI, run as a real process exactly as an operator would. */
export const EBM_MAIN = path.resolve(__dirname, '..', '..', '..', 'core', 'dist', 'cli', 'main.js');
export const PASSWORD = 'correct horse battery staple';

export interface EbmRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Parsed JSON lines of stdout (when --json was passed). */
  readonly lines: Array<Record<string, unknown>>;
}

export interface EbmOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/**
 * The CLI's cache home in tests (catalogs, the overlay provider's digest
 * cache): one temporary directory per test process, never the user's
 * ~/.cache. A test that needs its own passes XDG_CACHE_HOME in `env`.
 */
export const TEST_CACHE_HOME = path.join(os.tmpdir(), `ebm-test-cache-${process.pid}`);

export function spawnEbm(args: readonly string[], options: EbmOptions = {}): ChildProcess {
  return spawn(process.execPath, [EBM_MAIN, ...args], {
    cwd: options.cwd ?? os.tmpdir(),
    env: { ...process.env, EBM_PASSWORD: PASSWORD, EBM_REPOSITORY: undefined, EBM_PLUGIN_PATH: undefined, XDG_CACHE_HOME: TEST_CACHE_HOME, ...options.env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function ebm(args: readonly string[], options: EbmOptions = {}): Promise<EbmRun> {
  return new Promise((resolve, reject) => {
    const child = spawnEbm(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ebm ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 120000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, stdout, stderr, lines });
    });
  });
}

/** Asserts success and returns the run (with its output in the failure message otherwise). */
export async function ebmOk(args: readonly string[], options: EbmOptions = {}): Promise<EbmRun> {
  const run = await ebm(args, options);
  if (run.code !== 0) throw new Error(`ebm ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ebm-${prefix}-`));
}

export function summaryOf(run: EbmRun): Record<string, unknown> {
  const s = run.lines.find((l) => l.type === 'summary');
  if (!s) throw new Error(`no summary line in: ${run.stdout}\n${run.stderr}`);
  return s;
}

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EBM_MAIN, ebm, ebmOk, tempDir } from '../helpers/cli';

/**
 * What an operator sees on a terminal. `script` (util-linux) gives ebm a real
 * pseudo-terminal, so the password prompt and the live progress line run
 * exactly as they do for a person; the keystrokes are written to the pty.
 */
/**
 * Each keystroke is typed once its prompt is on the screen (after the previous
 * prompt), as a person would: a fixed delay raced the program's start on a
 * loaded machine and typed before the terminal's echo was off.
 */
function onTerminal(command: string, keystrokes: Array<[afterPrompt: string, text: string]>, env: Record<string, string | undefined> = {}): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      env: { ...process.env, EBM_PASSWORD: undefined, EBM_REPOSITORY: undefined, ...env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let next = 0;
    let from = 0;
    const typeWhenPrompted = (): void => {
      while (next < keystrokes.length) {
        const [prompt, text] = keystrokes[next]!;
        const at = screen.indexOf(prompt, from);
        if (at < 0) return;
        from = at + prompt.length;
        next++;
        child.stdin.write(text);
      }
    };
    const onData = (d: Buffer): void => {
      screen += d.toString();
      typeWhenPrompted();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, screen });
    });
  });
}

describe('on a terminal', () => {
  let work: string;
  beforeAll(() => {
    work = tempDir('tty');
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('init asks for the password twice without echoing it, and the repository opens with it', async () => {
    const repo = path.join(work, 'repo');
    const run = await onTerminal(`node ${EBM_MAIN} init -r ${repo}`, [['repository password:', 'typed-secret\r'], ['enter the password again:', 'typed-secret\r']]);
    expect(run.code).toBe(0);
    expect(run.screen).toContain('repository password:');
    expect(run.screen).toContain('enter the password again:');
    expect(run.screen).not.toContain('typed-secret');
    await ebmOk(['snapshots', '-r', repo], { env: { EBM_PASSWORD: 'typed-secret' } });
  });

  it('init refuses two different passwords with a usage error and creates nothing', async () => {
    const repo = path.join(work, 'mismatch');
    const run = await onTerminal(`node ${EBM_MAIN} init -r ${repo}`, [['repository password:', 'one\r'], ['enter the password again:', 'two\r']]);
    expect(run.code).toBe(2);
    expect(run.screen).toContain('the passwords do not match');
    expect(fs.existsSync(path.join(repo, 'config'))).toBe(false);
  });

  it('backup draws a live progress line (files, bytes, rate) and then the summary', async () => {
    const repo = path.join(work, 'progress-repo');
    await ebmOk(['init', '-r', repo], { env: { EBM_PASSWORD: 'pw' } });
    const source = path.join(work, 'source');
    fs.mkdirSync(source);
    for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(source, `f${i}`), Buffer.alloc(64 * 1024, i));
    const run = await onTerminal(`node ${EBM_MAIN} backup -r ${repo} ${source}`, [], { EBM_PASSWORD: 'pw' });
    expect(run.code).toBe(0);
    expect(run.screen).toMatch(/\r\x1b\[Kbackup {2}\d+ files {2}[\d.]+ (KiB|MiB) {2}[\d.]+ (B|KiB|MiB|GiB)\/s/);
    expect(run.screen).toMatch(/snapshot [0-9a-f]{8} saved/);
  });
});

describe('a source the operator cannot read', () => {
  it('fails with E_PERMISSION naming the source (run as an unprivileged user)', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test switches to uid 65534 and needs root; CI runs as root');
    const work = tempDir('perm');
    try {
      fs.chmodSync(work, 0o755);
      const repo = path.join(work, 'repo');
      fs.mkdirSync(repo);
      fs.chownSync(repo, 65534, 65534);
      const source = path.join(work, 'locked');
      fs.mkdirSync(source, { mode: 0o700 });
      fs.writeFileSync(path.join(source, 'secret'), 'x');
      const asNobody = (args: string[]) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, [EBM_MAIN, ...args], {
            uid: 65534,
            gid: 65534,
            cwd: '/',
            env: { ...process.env, EBM_PASSWORD: 'pw', HOME: '/tmp' } as NodeJS.ProcessEnv,
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('close', (code) => resolve({ code, out }));
        });
      expect((await asNobody(['init', '-r', repo])).code).toBe(0);
      const run = await asNobody(['backup', '-r', repo, source, '--json']);
      expect(run.code).toBe(1);
      const error = run.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; error?: { code: string; message: string } }).find((l) => l.type === 'error')!.error!;
      expect(error.code).toBe('E_PERMISSION');
      expect(error.message).toContain('locked');
      const snaps = await ebm(['snapshots', '-r', repo, '--json'], { env: { EBM_PASSWORD: 'pw' } });
      expect(snaps.lines.filter((l) => l.type === 'result')).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildProgram, commandNamed } from './main';

const run = promisify(execFile);
const MAIN = path.join(__dirname, 'main.js');

describe('ebm start-up: commands are loaded on demand', () => {
  it('finds the command after global options and their values', () => {
    expect(commandNamed(['-r', 'backup', 'snapshots'])).toBe('snapshots');
    expect(commandNamed(['--repo', 'restore', '--json', 'ls', 'latest'])).toBe('ls');
    expect(commandNamed(['--password-file', 'key', '-q', 'backup', '/src'])).toBe('backup');
    expect(commandNamed(['--json', 'run', 'home'])).toBe('run');
    expect(commandNamed(['--help'])).toBeUndefined();
    expect(commandNamed(['not-a-command'])).toBeUndefined();
    expect(commandNamed(['--', 'backup'])).toBeUndefined();
  });

  it('declares every command when none is named, and only the named one otherwise', () => {
    const all = buildProgram(() => undefined).commands.map((c) => c.name()).sort();
    expect(all).toEqual(
      ['backup', 'cancel', 'catalog', 'check', 'demo', 'discover', 'export', 'find', 'forget', 'import', 'init', 'jobs', 'key', 'ls', 'plugin', 'plugins', 'prune', 'rebase', 'restore', 'run', 'serve', 'snapshots', 'synthesize', 'unlock', 'verify'].sort(),
    );
    // Each command, named, is declared by the lazily loaded module (a table entry pointing at the wrong module fails here).
    for (const name of all) {
      expect(buildProgram(() => undefined, name).commands.map((c) => c.name())).toContain(name);
    }
    expect(buildProgram(() => undefined, 'backup').commands.map((c) => c.name())).toEqual(['backup']);
  });

  it('a real `ebm snapshots` does not load the host runtime, and help still lists every command', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-main-'));
    try {
      const env = { ...process.env, EBM_PASSWORD: 'pw' };
      await run(process.execPath, [MAIN, '-r', path.join(dir, 'repo'), '-q', 'init'], { env });
      const probe = `
        const m = require(${JSON.stringify(MAIN)});
        m.main(['-r', ${JSON.stringify(path.join(dir, 'repo'))}, '--json', 'snapshots']).then((code) => {
          const loaded = Object.keys(require.cache).map((k) => k.split(require('path').sep).join('/'));
          process.stdout.write(JSON.stringify({ code, serve: loaded.some((k) => k.endsWith('/cli/commands/serve.js')), runtime: loaded.some((k) => k.includes('/core/dist/runtime/')) }) + '\\n');
        });`;
      const { stdout } = await run(process.execPath, ['-e', probe], { env });
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as { code: number; serve: boolean; runtime: boolean };
      expect(result).toEqual({ code: 0, serve: false, runtime: false });

      const help = await run(process.execPath, [MAIN, '--help'], { env });
      for (const name of ['backup', 'serve', 'synthesize', 'rebase', 'discover']) expect(help.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
      const backupHelp = await run(process.execPath, [MAIN, 'backup', '--help'], { env });
      expect(backupHelp.stdout).toContain('Usage: ebm backup');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

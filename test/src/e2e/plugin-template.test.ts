import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';

/**
 * A vendor from zero: `ebm plugin init` writes a plugin package; it compiles
 * with TypeScript, its own conformance test passes under jest (a real child
 * process, the SDK's harness with a real worker thread), and the compiled
 * plugin, put on EBM_PLUGIN_PATH, backs up and restores through the ebm CLI.
 * The tests run in order: each uses what the previous one built.
 */
const repoRoot = path.resolve(__dirname, '..', '..', '..');

interface Ran {
  readonly code: number | null;
  readonly output: string;
}

function runProcess(command: string, args: readonly string[], cwd: string, timeoutMs = 150_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.JEST_WORKER_ID; // the child jest is a runner of its own
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** What `npm install` would provide, from this workspace: the SDK (with its own dependencies) and Node's types. */
function linkDependencies(pkg: string): void {
  fs.mkdirSync(path.join(pkg, 'node_modules', '@ebm'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(path.join(repoRoot, 'sdk'), path.join(pkg, 'node_modules', '@ebm', 'sdk'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules', '@types', 'node'), path.join(pkg, 'node_modules', '@types', 'node'));
}

describe('a plugin started from the template', () => {
  const work = tempDir('template');
  const pkg = path.join(work, 'acme-notes');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('is written by `ebm plugin init` and compiles with TypeScript', async () => {
    const init = await ebmOk(['plugin', 'init', pkg, '--kind', 'translator', '--json']);
    expect(init.lines).toEqual([expect.objectContaining({ type: 'result', op: 'plugin-init', id: 'acme-notes', packageName: 'ebm-translator-acme-notes' })]);
    expect(init.lines[0]!.files).toEqual(['.gitignore', 'README.md', 'package.json', 'src/backup.ts', 'src/conformance.test.ts', 'src/index.ts', 'src/restore.ts', 'tsconfig.json']);
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { ebm: { id: string; entry: string }; peerDependencies: Record<string, string> };
    expect(manifest.ebm).toMatchObject({ id: 'acme-notes', kind: 'translator', apiVersion: '^1.0.0', entry: 'dist/index.js' });
    expect(manifest.peerDependencies).toEqual({ '@ebm/sdk': '^0.1.0' });
    expect(fs.readFileSync(path.join(pkg, 'README.md'), 'utf8')).not.toContain('{{');

    linkDependencies(pkg);
    const tsc = await runProcess(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', pkg], pkg);
    expect(tsc).toEqual({ code: 0, output: '' });
    expect(fs.existsSync(path.join(pkg, 'dist', 'index.js'))).toBe(true);
  });

  it("passes its own conformance test under jest, in-process and in a worker thread", async () => {
    const jest = await runProcess(path.join(repoRoot, 'node_modules', '.bin', 'jest'), ['--ci', '--rootDir', pkg], pkg);
    if (jest.code !== 0) throw new Error(`the generated plugin's tests failed:\n${jest.output}`);
    expect(jest.output).toMatch(/Tests: +(\d+) passed, \1 total/);
    expect(jest.output).toContain('cancellation [three records]');
  });

  it('installs into a host through EBM_PLUGIN_PATH and round-trips records with ebm backup and ebm restore', async () => {
    const env = { EBM_PLUGIN_PATH: pkg };
    const repo = path.join(work, 'repo');
    const records = path.join(work, 'records');
    fs.mkdirSync(records);
    fs.writeFileSync(path.join(records, 'one.txt'), 'first record\n');
    fs.writeFileSync(path.join(records, 'two.txt'), 'second record\n'.repeat(10_000));
    await ebmOk(['init', '-r', repo], { env });

    const plugins = await ebmOk(['plugins', '--json'], { env });
    expect(plugins.lines.map((l) => (l.plugin as { manifest?: { id?: string } } | undefined)?.manifest?.id)).toContain('acme-notes');

    const first = summaryOf(await ebmOk(['backup', '-r', repo, '--translator', 'acme-notes', records, '--dataset', 'notes', '--json'], { env }));
    expect(first).toMatchObject({ files: 2, filesRead: 2 });
    fs.appendFileSync(path.join(records, 'one.txt'), 'edited\n');
    const second = summaryOf(await ebmOk(['backup', '-r', repo, '--translator', 'acme-notes', records, '--dataset', 'notes', '--json'], { env }));
    expect(second).toMatchObject({ files: 2, filesRead: 1, filesReused: 1 });

    const target = path.join(work, 'restored');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', target], { env });
    expect(fs.readdirSync(target).sort()).toEqual(['one.txt', 'two.txt']);
    for (const name of ['one.txt', 'two.txt']) expect(fs.readFileSync(path.join(target, name)).equals(fs.readFileSync(path.join(records, name)))).toBe(true);

    // Without the path the host does not know the plugin, and says so.
    const unknown = await ebm(['backup', '-r', repo, '--translator', 'acme-notes', records, '--dataset', 'notes']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('E_PLUGIN_NOT_FOUND');
  });

  it('refuses an unknown kind and a directory that is not empty', async () => {
    const kind = await ebm(['plugin', 'init', path.join(work, 'lp'), '--kind', 'layer-provider']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--kind layer-provider has no template');
    const taken = await ebm(['plugin', 'init', pkg]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/acme-notes is not empty \(\d+ entries\)/);
  });
});

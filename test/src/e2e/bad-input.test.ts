import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ebm, ebmOk, tempDir, PASSWORD } from '../helpers/cli';

const FIXTURE_PLUGINS = path.resolve(__dirname, '..', '..', '..', 'core', 'test-fixtures', 'plugins');

function lastError(run: { lines: Array<Record<string, unknown>>; stdout: string; stderr: string }): { code: string; message: string } {
  const line = run.lines.reverse().find((l) => l.type === 'error');
  if (!line) throw new Error(`no error line:\n${run.stdout}\n${run.stderr}`);
  return line.error as { code: string; message: string };
}

/** Each bad input gives a typed error naming what is wrong, a documented exit code, and loses nothing stored. */
describe('bad input', () => {
  let work: string;
  let repo: string;
  let source: string;

  beforeAll(async () => {
    work = tempDir('bad');
    repo = path.join(work, 'repo');
    source = path.join(work, 'src');
    fs.mkdirSync(source);
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(source, `f${i}`), `file ${i}\n`.repeat(1000 * (i + 1)));
    await ebmOk(['init', '-r', repo]);
    await ebmOk(['backup', '-r', repo, source]);
  });

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('wrong password: E_WRONG_PASSWORD, exit 12', async () => {
    const run = await ebm(['snapshots', '-r', repo, '--json'], { env: { EBM_PASSWORD: 'not the password' } });
    expect(run.code).toBe(12);
    expect(lastError(run).code).toBe('E_WRONG_PASSWORD');
  });

  it('no password and no terminal: E_NO_PASSWORD instead of hanging', async () => {
    const run = await ebm(['snapshots', '-r', repo, '--json'], { env: { EBM_PASSWORD: undefined } });
    expect(run.code).toBe(2);
    expect(lastError(run).code).toBe('E_NO_PASSWORD');
  });

  it('a path that is not a repository: E_NOT_A_REPOSITORY naming the path, exit 10', async () => {
    const run = await ebm(['snapshots', '-r', source, '--json']);
    expect(run.code).toBe(10);
    const err = lastError(run);
    expect(err.code).toBe('E_NOT_A_REPOSITORY');
    expect(err.message).toContain(source);
  });

  it('a repository of a newer format version: E_UNSUPPORTED_FORMAT', async () => {
    const newer = path.join(work, 'newer');
    fs.cpSync(repo, newer, { recursive: true });
    const configPath = path.join(newer, 'config');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(configPath, JSON.stringify({ ...config, version: 99 }));
    const run = await ebm(['snapshots', '-r', newer, '--json']);
    expect(run.code).toBe(10);
    expect(lastError(run).code).toBe('E_UNSUPPORTED_FORMAT');
    expect(lastError(run).message).toContain('99');
  });

  it('a missing source: E_SOURCE_NOT_FOUND naming it, and no snapshot written', async () => {
    const before = fs.readdirSync(path.join(repo, 'snapshots')).length;
    const missing = path.join(work, 'no-such-dir');
    const run = await ebm(['backup', '-r', repo, missing, '--json']);
    expect(run.code).toBe(1);
    expect(lastError(run).code).toBe('E_SOURCE_NOT_FOUND');
    expect(lastError(run).message).toContain('no-such-dir');
    expect(fs.readdirSync(path.join(repo, 'snapshots')).length).toBe(before);
  });

  it('an unknown plugin id: E_PLUGIN_NOT_FOUND listing the installed ones', async () => {
    const run = await ebm(['backup', '-r', repo, source, '--translator', 'nope', '--json']);
    expect(lastError(run).code).toBe('E_PLUGIN_NOT_FOUND');
    expect(lastError(run).message).toContain('filesystem');
  });

  it('a plugin with an invalid manifest, and one whose API range does not fit: refused with reasons, listed by `ebm plugins`', async () => {
    const env = { EBM_PLUGIN_PATH: FIXTURE_PLUGINS };
    const plugins = await ebmOk(['plugins'], { env });
    expect(plugins.stdout).toContain('cannot be used');
    expect(plugins.stdout).toContain('E_PLUGIN_API_MISMATCH');
    expect(plugins.stdout).toContain('E_PLUGIN_MANIFEST');
    const mismatch = await ebm(['backup', '-r', repo, source, '--translator', 'api-mismatch', '--json'], { env });
    expect(lastError(mismatch).code).toBe('E_PLUGIN_API_MISMATCH');
    expect(lastError(mismatch).message).toMatch(/\^99/);
  });

  it('a plugin that throws fails the job with E_PLUGIN_FAILED and leaves the repository as it was', async () => {
    const env = { EBM_PLUGIN_PATH: FIXTURE_PLUGINS };
    const packsBefore = listFiles(path.join(repo, 'data'));
    const run = await ebm(['backup', '-r', repo, source, '--translator', 'throws', '--json'], { env });
    expect(lastError(run).code).toBe('E_PLUGIN_FAILED');
    expect(listFiles(path.join(repo, 'data'))).toEqual(packsBefore);
    await ebmOk(['check', '-r', repo, '--read-data']);
  });

  it('a full disk during backup fails with E_DISK_FULL and the repository stays valid', async () => {
    const mnt = path.join(work, 'small-disk');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    try {
      const small = path.join(mnt, 'repo');
      await ebmOk(['init', '-r', small]);
      const tiny = path.join(work, 'tiny');
      fs.mkdirSync(tiny);
      fs.writeFileSync(path.join(tiny, 'a.txt'), 'small\n');
      await ebmOk(['backup', '-r', small, tiny, '--dataset', 'tiny']);
      const big = path.join(work, 'big');
      fs.mkdirSync(big);
      fs.writeFileSync(path.join(big, 'random.bin'), require('node:crypto').randomBytes(8 * 1024 * 1024));
      const run = await ebm(['backup', '-r', small, big, '--dataset', 'big', '--json']);
      expect(run.code).toBe(1);
      expect(lastError(run).code).toBe('E_DISK_FULL');
      const check = await ebm(['check', '-r', small, '--read-data', '--json']);
      expect(check.code).toBe(0);
      const snaps = (await ebmOk(['snapshots', '-r', small, '--json'])).lines.filter((l) => l.type === 'result');
      expect(snaps.map((l) => (l.snapshot as { dataset: string }).dataset)).toEqual(['tiny']);
      const target = path.join(work, 'tiny-restored');
      await ebmOk(['restore', '-r', small, 'latest', '--target', target]);
      expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('small\n');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  describe('damaged repository files are detected and named', () => {
    let damaged: string;
    beforeEach(() => {
      damaged = path.join(work, `damaged-${Date.now()}`);
      fs.cpSync(repo, damaged, { recursive: true });
    });

    it.each([0, 0.5, -30, -1])('one flipped byte in a pack (at relative position %p) fails check --read-data', async (where) => {
      const pack = listFiles(path.join(damaged, 'data')).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
      const bytes = fs.readFileSync(pack);
      const at = where < 0 ? bytes.length + where : Math.floor(bytes.length * where);
      bytes[at] = bytes[at]! ^ 0x01;
      fs.writeFileSync(pack, bytes);
      const run = await ebm(['check', '-r', damaged, '--read-data', '--json']);
      expect(run.code).toBe(1);
      expect(lastError(run).code).toBe('E_CHECK_FAILED');
      expect(run.stdout).toContain(path.basename(pack));
    });

    it('a truncated pack is reported', async () => {
      const pack = listFiles(path.join(damaged, 'data'))[0]!;
      fs.truncateSync(pack, Math.floor(fs.statSync(pack).size / 2));
      const run = await ebm(['check', '-r', damaged, '--read-data', '--json']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(path.basename(pack));
    });

    it('a corrupted index file is reported by check, and restore fails with a typed error, not a crash', async () => {
      const index = listFiles(path.join(damaged, 'index'))[0]!;
      const bytes = fs.readFileSync(index);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      fs.writeFileSync(index, bytes);
      const check = await ebm(['check', '-r', damaged, '--json']);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(path.basename(index));
    });

    it('a corrupted snapshot file is reported and the others stay listed', async () => {
      const snap = listFiles(path.join(damaged, 'snapshots'))[0]!;
      const bytes = fs.readFileSync(snap);
      bytes[bytes.length - 5] ^= 0x10;
      fs.writeFileSync(snap, bytes);
      const check = await ebm(['check', '-r', damaged, '--json']);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(path.basename(snap).slice(0, 8));
    });
  });

  it('ebm key add/list/remove: a second password opens the repository; the key in use cannot be removed', async () => {
    await ebmOk(['key', 'add', '-r', repo], { env: { EBM_NEW_PASSWORD: 'second password' } });
    const keys = (await ebmOk(['key', 'list', '-r', repo, '--json'])).lines.filter((l) => l.type === 'result');
    expect(keys).toHaveLength(2);
    await ebmOk(['snapshots', '-r', repo], { env: { EBM_PASSWORD: 'second password' } });
    const current = keys.find((k) => k.current)!.key as { id: string };
    const other = keys.find((k) => !k.current)!.key as { id: string };
    const refused = await ebm(['key', 'remove', '-r', repo, current.id, '--json']);
    expect(lastError(refused).code).toBe('E_LAST_KEY');
    await ebmOk(['key', 'remove', '-r', repo, other.id]);
    const after = await ebm(['snapshots', '-r', repo, '--json'], { env: { EBM_PASSWORD: 'second password' } });
    expect(lastError(after).code).toBe('E_WRONG_PASSWORD');
    await ebmOk(['snapshots', '-r', repo], { env: { EBM_PASSWORD: PASSWORD } });
  });
});

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

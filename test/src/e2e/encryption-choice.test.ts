import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';

/**
 * `ebm init --encryption none` end to end: no password anywhere, data
 * readable in the packs, damage still detected by `ebm check`; and
 * `--compression-level` on a backup.
 */
describe('ebm CLI: unencrypted repositories and per-backup compression', () => {
  let work: string;
  let repo: string;
  let source: string;
  const text = 'readable-without-a-key 0c4d '.repeat(400);

  beforeAll(() => {
    work = tempDir('encryption-choice');
    repo = path.join(work, 'repo');
    source = path.join(work, 'src');
    fs.mkdirSync(path.join(source, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(source, 'a.txt'), text);
    fs.writeFileSync(path.join(source, 'sub', 'b.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 251)));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const noPassword = { env: { EBM_PASSWORD: undefined } };
  const packs = (): Buffer[] => fs.readdirSync(path.join(repo, 'data')).flatMap((d) => fs.readdirSync(path.join(repo, 'data', d)).map((f) => fs.readFileSync(path.join(repo, 'data', d, f))));

  it('init, backup at level 0, restore and check — never asking for a password', async () => {
    const init = await ebmOk(['-r', repo, '--json', 'init', '--encryption', 'none'], noPassword);
    expect(init.lines.find((l) => l.type === 'result')).toMatchObject({ encryption: 'none', formatVersion: 2 });
    const backup = await ebmOk(['-r', repo, '--json', 'backup', source, '--compression-level', '0'], noPassword);
    expect(summaryOf(backup).bytesAdded).toBeGreaterThan(text.length);
    expect(packs().some((p) => p.includes(text.slice(0, 500)))).toBe(true);
    const target = path.join(work, 'restored');
    await ebmOk(['-r', repo, 'restore', 'latest', '--target', target], noPassword);
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe(text);
    expect(fs.readFileSync(path.join(target, 'sub', 'b.bin')).equals(fs.readFileSync(path.join(source, 'sub', 'b.bin')))).toBe(true); // not toEqual: slow on large buffers
    await ebmOk(['-r', repo, 'check', '--read-data'], noPassword);
  });

  it('a flipped byte in an unencrypted pack is still detected, and `key add` is refused with the reason', async () => {
    const dataDir = path.join(repo, 'data');
    const packFile = fs.readdirSync(dataDir).flatMap((d) => fs.readdirSync(path.join(dataDir, d)).map((f) => path.join(dataDir, d, f)))[0]!;
    const bytes = fs.readFileSync(packFile);
    bytes[20]! ^= 0x10;
    fs.writeFileSync(packFile, bytes);
    const check = await ebm(['-r', repo, 'check', '--read-data'], noPassword);
    expect(check.code).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/integrity check failed|does not match|hashes to/);
    const keyAdd = await ebm(['-r', repo, 'key', 'add'], noPassword);
    expect(keyAdd.code).toBe(2);
    expect(keyAdd.stderr).toContain('is not encrypted, so it has no passwords to add');
  });

  it('refuses a bad --encryption and a bad --compression-level, naming the value', async () => {
    const bad = await ebm(['-r', path.join(work, 'other'), 'init', '--encryption', 'rot13'], noPassword);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--encryption "rot13"');
    expect(fs.existsSync(path.join(work, 'other'))).toBe(false);
    const level = await ebm(['-r', repo, 'backup', source, '--compression-level', '23'], noPassword);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('--compression-level "23"');
  });
});

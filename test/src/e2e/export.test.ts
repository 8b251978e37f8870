import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareTrees } from '@ebm/core';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import { makeEveryKindTree } from '../helpers/every-kind-tree';

/**
 * `ebm export` / `ebm import` through the real CLI: a snapshot leaves the
 * repository as one file and comes back on "another machine" (no repository
 * given at all), whole, in part, encrypted, and damaged.
 */
describe('ebm export and import', () => {
  let work: string;
  let repo: string;
  let source: string;
  const marker = 'export-plaintext-marker-91d2 '.repeat(100);
  const noRepo = { env: { EBM_PASSWORD: undefined } };

  beforeAll(async () => {
    work = tempDir('export');
    repo = path.join(work, 'repo');
    source = path.join(work, 'source');
    fs.mkdirSync(source);
    makeEveryKindTree(source);
    fs.mkdirSync(path.join(source, 'big'));
    // Three files of several chunks each, so damage in the middle of the export hits one of them.
    for (const name of ['one.bin', 'two.bin', 'three.bin']) {
      const data = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761 + name.length * 97) >>> 0, i);
      fs.writeFileSync(path.join(source, 'big', name), data);
    }
    fs.writeFileSync(path.join(source, 'notes.txt'), marker);
    await ebmOk(['init', '-r', repo]);
    await ebmOk(['backup', '-r', repo, source, '--dataset', 'kinds']);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('a whole snapshot exported and imported without the repository equals the source, bytes and metadata', async () => {
    const file = path.join(work, 'whole.ebmx');
    const exported = summaryOf(await ebmOk(['export', '-r', repo, 'latest', '-o', file, '--json']));
    expect(exported).toMatchObject({ op: 'export', encrypted: false, file });
    expect(fs.readFileSync(file).includes(marker.slice(0, 100))).toBe(false); // compressed, but not encrypted: the repeated text shrinks
    const target = path.join(work, 'whole');
    const imported = await ebmOk(['import', file, '--target', target, '--json'], noRepo);
    expect(summaryOf(imported)).toMatchObject({ op: 'import', damagedRanges: 0 });
    expect(await compareTrees(source, target, { owners: true })).toEqual([]);

    // `ebm restore --from-export` is the same restore, under the command operators look for.
    const viaRestore = path.join(work, 'whole-via-restore');
    const snapshotId = exported.snapshot as string;
    await ebmOk(['restore', '--from-export', file, '--target', viaRestore], noRepo);
    expect(await compareTrees(source, viaRestore, { owners: true })).toEqual([]);
    await ebmOk(['restore', snapshotId.slice(0, 8), '--from-export', file, '--target', path.join(work, 'named'), '-i', 'notes.txt'], noRepo);
    expect(fs.readdirSync(path.join(work, 'named'))).toEqual(['notes.txt']);
    const otherSnapshot = await ebm(['restore', 'deadbeef', '--from-export', file, '--target', path.join(work, 'other')], noRepo);
    expect(otherSnapshot.stderr).toMatch(/E_SNAPSHOT_NOT_FOUND: .* holds snapshot [0-9a-f]{8}, not deadbeef/);
  });

  it('--include exports only those paths; the import restores exactly them', async () => {
    const file = path.join(work, 'part.ebmx');
    await ebmOk(['export', '-r', repo, 'latest', '-o', file, '-i', 'a', '-i', 'notes.txt']);
    expect(fs.statSync(file).size).toBeLessThan(4 * 1024 * 1024); // a/ holds 3 MiB of random bytes; the 9 MiB of big/ are not in it
    const target = path.join(work, 'part');
    await ebmOk(['import', file, '--target', target], noRepo);
    expect(fs.readdirSync(target).sort()).toEqual(['a', 'notes.txt']);
    expect(await compareTrees(path.join(source, 'a', 'b'), path.join(target, 'a', 'b'), { owners: true })).toEqual([]);
    // a/hard-2's other link (hard-1) is outside the export: it comes back as a file of its own, as with `restore --include`.
    for (const f of ['small.txt', 'hard-2']) expect(fs.readFileSync(path.join(target, 'a', f))).toEqual(fs.readFileSync(path.join(source, 'a', f)));
    expect(fs.readFileSync(path.join(target, 'notes.txt'), 'utf8')).toBe(marker);
  });

  it('an encrypted export hides its content and needs its own password', async () => {
    const file = path.join(work, 'secret.ebmx');
    const passFile = path.join(work, 'export-pass');
    fs.writeFileSync(passFile, 'export secret\n');
    await ebmOk(['export', '-r', repo, 'latest', '-o', file, '-i', 'notes.txt', '--export-password-file', passFile], { env: { EBM_TEST_FAST_KDF: '1' } });
    const stored = fs.readFileSync(file);
    // Neither content nor names nor the dataset show in an encrypted export.
    for (const visible of ['notes.txt', 'kinds', source, 'export-plaintext-marker']) expect(stored.includes(visible)).toBe(false);
    const none = await ebm(['import', file, '--target', path.join(work, 'secret-none')], noRepo);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('E_NO_PASSWORD');
    const wrong = await ebm(['import', file, '--target', path.join(work, 'secret-wrong')], { env: { EBM_PASSWORD: undefined, EBM_EXPORT_PASSWORD: 'nope' } });
    expect(wrong.code).toBe(12); // E_WRONG_PASSWORD's documented exit code
    expect(wrong.stderr).toContain('the password does not open the export');
    expect(fs.existsSync(path.join(work, 'secret-wrong'))).toBe(false);
    const target = path.join(work, 'secret');
    await ebmOk(['import', file, '--target', target], { env: { EBM_PASSWORD: undefined, EBM_EXPORT_PASSWORD: 'export secret' } });
    expect(fs.readFileSync(path.join(target, 'notes.txt'), 'utf8')).toBe(marker);
  });

  it('a damaged or truncated export still restores every undamaged file and names the lost one', async () => {
    const file = path.join(work, 'whole-2.ebmx');
    await ebmOk(['export', '-r', repo, 'latest', '-o', file]);
    const bytes = fs.readFileSync(file);
    // Damage one byte in the middle of the file: inside one of big/'s data blobs.
    const damaged = path.join(work, 'damaged.ebmx');
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)]! ^= 0xff;
    fs.writeFileSync(damaged, copy);
    const target = path.join(work, 'from-damaged');
    const run = await ebm(['import', damaged, '--target', target, '--json'], noRepo);
    expect(run.code).toBe(3);
    const lost = run.lines.filter((l) => l.type === 'warning' && l.code === 'E_CORRUPT_OBJECT').map((l) => l.path);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/^big\/(one|two|three)\.bin$/);
    expect(fs.existsSync(path.join(target, lost[0] as string))).toBe(false); // never left half-written
    for (const name of ['one.bin', 'two.bin', 'three.bin'].filter((n) => `big/${n}` !== lost[0])) {
      expect(fs.readFileSync(path.join(target, 'big', name)).equals(fs.readFileSync(path.join(source, 'big', name)))).toBe(true);
    }
    expect(await compareTrees(path.join(source, 'a'), path.join(target, 'a'), { owners: true })).toEqual([]);

    // A damaged first record (the header): the end record's copy is used.
    const headless = Buffer.from(bytes);
    headless[20]! ^= 0x01;
    fs.writeFileSync(path.join(work, 'headless.ebmx'), headless);
    const fromHeadless = await ebm(['import', path.join(work, 'headless.ebmx'), '--target', path.join(work, 'from-headless')], noRepo);
    expect(fromHeadless.code).toBe(3); // the damage is reported, nothing is lost
    expect(await compareTrees(source, path.join(work, 'from-headless'), { owners: true })).toEqual([]);
  });

  it('refuses to replace an existing output, and says what is wrong with a file that is not an export', async () => {
    const existing = path.join(work, 'exists.ebmx');
    fs.writeFileSync(existing, 'keep me');
    const refused = await ebm(['export', '-r', repo, 'latest', '-o', existing]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already exists');
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');
    const notExport = await ebm(['import', existing, '--target', path.join(work, 'x')], noRepo);
    expect(notExport.code).toBe(1);
    expect(notExport.stderr).toContain('is not an ebm export');
    const missing = await ebm(['import', path.join(work, 'nope.ebmx'), '--target', path.join(work, 'y')], noRepo);
    expect(missing.stderr).toContain('E_SOURCE_NOT_FOUND');
  });
});

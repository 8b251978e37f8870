import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { JsonValue, decodeTree, encodeTree } from '@ebm/sdk';
import { createDumpModel, dumpBytes, randomBytesOf } from './testing/dump-fixture';
import { backupOk, failure, generatorSource, removeAll, restore, restoreOk, streamMeta, tempDir, testRepository } from './testing/harness';
import translator from './index';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('stream translator: a command as the producer', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('command');
  });
  afterAll(() => removeAll(work));

  it('stores a command\'s output with its argv, exit status, size, times and SHA-256, and restores the same bytes', async () => {
    const repo = testRepository();
    const expected = dumpBytes(createDumpModel(3, 3 * 1024 * 1024));
    const source = generatorSource('dump', '--seed', '3', '--bytes', String(3 * 1024 * 1024));
    const backup = await backupOk(repo, { source, options: { 'from-command': true, name: 'db.sql', 'content-type': 'application/sql' } });
    const info = streamMeta(backup);
    expect(info).toMatchObject({
      name: 'db.sql',
      contentType: 'application/sql',
      source: { kind: 'command', argv: JSON.parse(source) },
      producer: { status: 'succeeded', exitCode: 0, signal: null },
      bytes: expected.length,
      sha256: sha256(expected),
      framing: 'none',
      chunking: { avgSize: 65536, minSize: 16384, maxSize: 262144 },
    });
    expect(Date.parse(info.endTime as string)).toBeGreaterThanOrEqual(Date.parse(info.startTime as string));
    // The stream was cut into ~64 KiB pieces, each stored as one blob.
    expect(backup.outcome.stats.dataPuts).toBeGreaterThan(expected.length / (256 * 1024));
    const root = decodeTree(repo.get(backup.tree)!);
    expect(root.entries.map((e) => [e.name, e.kind])).toEqual([['info', 'stream'], ['records', 'dir']]);

    const target = path.join(work, 'restored');
    const result = await restoreOk(repo, backup, { target });
    expect(result.meta).toMatchObject({ bytes: expected.length, verified: 'sha256' });
    expect(sha256(await fsp.readFile(path.join(target, 'db.sql')))).toBe(sha256(expected));
    expect(await fsp.readdir(target)).toEqual(['db.sql']);
  });

  it('pipes a restore into a command\'s standard input and checks that it exits 0', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: generatorSource('random', '--seed', '4', '--bytes', '1000000'), options: { 'from-command': true } });
    const out = path.join(work, 'via-command.bin');
    const consumer = [process.execPath, '-e', `process.stdin.pipe(require('fs').createWriteStream(${JSON.stringify(out)}))`];
    await restoreOk(repo, backup, { target: path.join(work, 'unused-1'), options: { 'to-command': true, command: consumer } });
    const expected = Buffer.concat([...randomBytesOf(4, 1000000)]);
    expect(sha256(await fsp.readFile(out))).toBe(sha256(expected));
  });

  it('fails a restore whose consumer exits non-zero, with its exit code and the end of its standard error', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: generatorSource('random', '--seed', '5', '--bytes', '300000'), options: { 'from-command': true } });
    const consumer = [process.execPath, '-e', 'process.stdin.resume(); process.stdin.on("end", () => { console.error("relation does not exist"); process.exit(4); })'];
    const outcome = await repo.restore(translator, { tree: backup.tree, target: path.join(work, 'unused-2'), snapshot: { meta: backup.meta! }, options: { 'to-command': true, command: consumer } });
    const error = failure(outcome);
    expect(error.code).toBe('E_CONSUMER_FAILED');
    expect(error.message).toMatch(/exited with code 4/);
    expect(error.message).toContain('relation does not exist');
  });

  it('fails a restore whose consumer stops reading early', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: generatorSource('random', '--seed', '6', '--bytes', '4000000'), options: { 'from-command': true } });
    const consumer = [process.execPath, '-e', 'process.stdin.once("data", () => process.exit(0))'];
    const outcome = await repo.restore(translator, { tree: backup.tree, target: path.join(work, 'unused-3'), snapshot: { meta: backup.meta! }, options: { 'to-command': true, command: consumer } });
    const error = failure(outcome);
    expect(error.code).toBe('E_CONSUMER_FAILED');
    expect(error.message).toMatch(/stopped reading its input/);
  });

  it.each([
    ['exits non-zero halfway', ['--fail-after', '200000', '--exit', '3'], /exited with code 3[^]*failing on purpose after 200000 bytes/],
    ['is killed by a signal halfway', ['--kill-after', '200000', '--signal', 'SIGKILL'], /was killed by signal SIGKILL/],
  ])('records no snapshot when the producer %s', async (_what, extra, message) => {
    const repo = testRepository();
    const outcome = await repo.backup(translator, { source: generatorSource('random', '--seed', '7', '--bytes', '1000000', ...extra), options: { 'from-command': true } });
    const error = failure(outcome);
    expect(error.code).toBe('E_PRODUCER_FAILED');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('no snapshot was recorded');
  });

  it('stops the producer when the job is cancelled, also one that writes nothing', async () => {
    // Messages a worker sends to a fresh repository before the cancel: the gear-key label's query, "source open" progress, the label's upload (then the chatty producer's chunks).
    for (const [body, cancelAfter] of [["setInterval(() => process.stdout.write('x'.repeat(65536)), 5)", 20], ['setInterval(() => {}, 1000)', 3]] as const) {
      const repo = testRepository();
      const marker = `ebm-cancel-test-${Math.random().toString(36).slice(2)}`;
      const producer = JSON.stringify([process.execPath, '-e', `/*${marker}*/ ${body}`]);
      const error = failure(await repo.backup(translator, { source: producer, options: { 'from-command': true }, cancelAfterMessages: cancelAfter }));
      expect(error.code).toBe('E_CANCELLED');
      await waitUntil(() => processesWith(marker) === 0);
    }
  });

  it('refuses an empty stream unless --allow-empty, and reports a missing command', async () => {
    const repo = testRepository();
    const empty = JSON.stringify([process.execPath, '-e', '']);
    const error = failure(await repo.backup(translator, { source: empty, options: { 'from-command': true } }));
    expect(error.code).toBe('E_PRODUCER_FAILED');
    expect(error.message).toMatch(/is empty \(0 bytes\)/);
    const allowed = await backupOk(repo, { source: empty, options: { 'from-command': true, 'allow-empty': true } });
    expect(streamMeta(allowed)).toMatchObject({ bytes: 0, records: 0, sha256: sha256(new Uint8Array(0)) });
    const target = path.join(work, 'empty');
    await restoreOk(repo, allowed, { target });
    expect((await fsp.stat(path.join(target, 'node'))).size).toBe(0);

    const missing = failure(await repo.backup(translator, { source: '["no-such-command-ebm-test"]', options: { 'from-command': true } }));
    expect(missing.code).toBe('E_SOURCE_NOT_FOUND');
    expect(missing.message).toContain('no-such-command-ebm-test');
  });

  it('fails loudly when the restored bytes do not match the recorded SHA-256: no file is left, a consumer is killed before its input ends', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: generatorSource('random', '--seed', '8', '--bytes', '500000'), options: { 'from-command': true, name: 'x.bin' } });
    // A snapshot whose recorded hash is wrong, in its metadata and in its tree alike.
    const meta = backup.meta as { stream: Record<string, JsonValue> };
    const forgedMeta = { ...meta, stream: { ...meta.stream, sha256: '0'.repeat(64) } };
    const root = decodeTree(repo.get(backup.tree)!);
    const forgedTree = repo.putBlob(encodeTree(root.entries.map((e) => (e.name === 'info' ? { ...e, meta: forgedMeta } : e))), 'tree');
    const forged = { ...backup, tree: forgedTree, meta: forgedMeta };

    const target = await tempDir('mismatch');
    const committed = path.join(work, 'committed.bin');
    try {
      const error = failure(await restore(repo, forged, { target }));
      expect(error.code).toBe('E_CORRUPT_OBJECT');
      expect(error.message).toMatch(/hash to [0-9a-f]{64}, the snapshot recorded 0{64}/);
      expect(await fsp.readdir(target)).toEqual([]);

      // A consumer that would only "commit" at the end of its input never gets there.
      const consumer = [process.execPath, '-e', `const c=[];process.stdin.on('data',d=>c.push(d));process.stdin.on('end',()=>require('fs').writeFileSync(${JSON.stringify(committed)},Buffer.concat(c)))`];
      const viaCommand = failure(await restore(repo, forged, { target, options: { 'to-command': true, command: consumer } }));
      expect(viaCommand.code).toBe('E_CORRUPT_OBJECT');
      await expect(fsp.stat(committed)).rejects.toMatchObject({ code: 'ENOENT' });

      // The snapshot's metadata and its tree must agree: a forged metadata alone is caught before any byte is written.
      const metaOnly = failure(await restore(repo, { ...backup, meta: forgedMeta }, { target }));
      expect(metaOnly.code).toBe('E_CORRUPT_OBJECT');
      expect(metaOnly.message).toMatch(/describe different streams/);
    } finally {
      await removeAll(target);
    }
  });
});

/** Live processes whose command line contains `marker` (read from /proc). */
function processesWith(marker: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) count++;
    } catch {
      // exited meanwhile
    }
  }
  return count;
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(condition()).toBe(true);
}

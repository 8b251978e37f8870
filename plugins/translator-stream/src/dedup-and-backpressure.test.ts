import { createHmac } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Chunker, DEFAULT_CHUNKER_SIZES, createMemoryRepository } from '@ebm/sdk';
import { createDumpModel, dumpBytes, mutateDumpModel } from './testing/dump-fixture';
import { backupOk, generatorSource, removeAll, restoreOk, streamMeta, tempDir, testRepository } from './testing/harness';

/** Bytes of `next` in chunks that `previous` does not have, chunking both with the repository's default (file-tree) parameters. */
function newBytesWithRepositoryChunking(previous: Buffer, next: Buffer): number {
  const ids = (data: Buffer): Array<[string, number]> => {
    const chunker = new Chunker({ algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES, gearKey: new Uint8Array(32).fill(7) });
    const chunks = chunker.push(data);
    const last = chunker.finish();
    if (last) chunks.push(last);
    return chunks.map((c) => [createHmac('sha256', 'k').update(c).digest('hex'), c.length]);
  };
  const have = new Set(ids(previous).map(([id]) => id));
  return ids(next).reduce((sum, [id, n]) => sum + (have.has(id) ? 0 : n), 0);
}

describe('stream translator: deduplication of successive dumps, and backpressure', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('dedup');
  });
  afterAll(() => removeAll(work));

  it('ships only a small part of the next day\'s dump of a database changing 1 % a day, where the repository\'s own 1 MiB chunks would ship several times more', async () => {
    const day0 = createDumpModel(11, 12 * 1024 * 1024);
    const dumps = [dumpBytes(day0), dumpBytes(mutateDumpModel(day0, 0.01))];
    const files = dumps.map((d, i) => path.join(work, `day${i}.sql`));
    await Promise.all(dumps.map((d, i) => fsp.writeFile(files[i]!, d)));

    // The repository's default chunk sizes (512 KiB / 1 MiB / 8 MiB), and fixed keys: the cut points, and so the bytes
    // shipped, depend on the keys (3.2-4.3 MB over 8 random pairs, and once 4.53 MB, above the bound, in a CI run).
    const repo = testRepository({ idKey: Uint8Array.from({ length: 32 }, (_, i) => i), gearKey: Uint8Array.from({ length: 32 }, (_, i) => 100 + i) });
    await backupOk(repo, { source: files[0]!, options: { name: 'db.sql' } });
    const second = await backupOk(repo, { source: files[1]!, options: { name: 'db.sql' } });
    const shipped = second.outcome.stats.putBytes;
    expect(shipped).toBeLessThan(dumps[1]!.length * 0.35);
    expect(newBytesWithRepositoryChunking(dumps[0]!, dumps[1]!)).toBeGreaterThan(shipped * 2.5);

    const target = path.join(work, 'restored');
    await restoreOk(repo, second, { target });
    expect((await fsp.readFile(path.join(target, 'db.sql'))).equals(dumps[1]!)).toBe(true);
  });

  it('never has more unacknowledged data in flight than the window when the repository is slow', async () => {
    const repo = createMemoryRepository({ pluginId: 'stream' });
    const windowBytes = 1024 * 1024;
    const backup = await backupOk(repo, {
      source: generatorSource('random', '--seed', '12', '--bytes', String(8 * 1024 * 1024)),
      options: { 'from-command': true },
      windowBytes,
      ackDelayMs: 3,
    });
    expect(streamMeta(backup).bytes).toBe(8 * 1024 * 1024);
    expect(backup.outcome.stats.maxUnackedBytes).toBeLessThanOrEqual(windowBytes);
    expect(backup.outcome.stats.maxUnackedBytes).toBeGreaterThan(0);
  });
});

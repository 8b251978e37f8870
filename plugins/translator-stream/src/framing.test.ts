import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SegmentParser } from './backup/framing';
import { frameSegment, randomBytesOf } from './testing/dump-fixture';
import { backupOk, failure, generatorSource, removeAll, restoreOk, streamMeta, tempDir, testRepository } from './testing/harness';
import translator from './index';

/** The segments generate-cli.js writes: name seg-i, start 10·i, end 10·i+10, payload = randomBytesOf(seed·1000+i, bytes). */
function expectedSegment(seed: number, i: number, bytes: number): Buffer {
  return frameSegment({ name: `seg-${i}`, start: i * 10, end: i * 10 + 10 }, Buffer.concat([...randomBytesOf(seed * 1000 + i, bytes)]));
}

describe('stream translator: framing jsonl-segments', () => {
  let work: string;
  const repo = testRepository();
  beforeAll(async () => {
    work = await tempDir('framing');
  });
  afterAll(() => removeAll(work));

  it('parses the same segments however the input is split', () => {
    const stream = Buffer.concat([frameSegment({ a: 1 }, Buffer.from('hello')), frameSegment({ b: 2 }, Buffer.alloc(0)), frameSegment({ c: 3 }, Buffer.from('x\ny'))]);
    const eventsOf = (splits: number[]): string[] => {
      const parser = new SegmentParser();
      const out: string[] = [];
      let at = 0;
      for (const cut of [...splits, stream.length]) {
        for (const e of parser.push(stream.subarray(at, cut))) out.push(e.t === 'start' ? `start ${e.index} ${JSON.stringify(e.header)}` : e.t === 'data' ? `data ${Buffer.from(e.bytes).toString()}` : `end ${e.index}`);
        at = cut;
      }
      parser.finish();
      return out.reduce<string[]>((acc, e) => (e.startsWith('data') && acc[acc.length - 1]?.startsWith('data') ? [...acc.slice(0, -1), acc[acc.length - 1] + e.slice(5)] : [...acc, e]), []);
    };
    const whole = eventsOf([]);
    expect(whole).toEqual(['start 0 {"a":1,"length":5}', 'data hello', 'end 0', 'start 1 {"b":2,"length":0}', 'end 1', 'start 2 {"c":3,"length":3}', 'data x\ny', 'end 2']);
    for (let cut = 1; cut < stream.length; cut++) expect(eventsOf([cut])).toEqual(whole);
    expect(eventsOf(Array.from({ length: stream.length - 1 }, (_, i) => i + 1))).toEqual(whole);
  });

  it('stores each segment with its header and restores one segment, a list or a time range, verified by each segment\'s SHA-256', async () => {
    const backup = await backupOk(repo, { source: generatorSource('segments', '--seed', '3', '--count', '6', '--bytes', '300000'), options: { 'from-command': true, framing: 'jsonl-segments', name: 'media' } });
    expect(streamMeta(backup)).toMatchObject({ framing: 'jsonl-segments', segments: 6, records: 6 });

    const all = path.join(work, 'all');
    await restoreOk(repo, backup, { target: all });
    expect((await fsp.readFile(path.join(all, 'media'))).equals(Buffer.concat([0, 1, 2, 3, 4, 5].map((i) => expectedSegment(3, i, 300000))))).toBe(true);

    const some = path.join(work, 'some');
    const result = await restoreOk(repo, backup, { target: some, options: { segments: '1,4-5' } });
    expect(result.meta).toMatchObject({ segments: 3, verified: 'segment-sha256' });
    expect((await fsp.readFile(path.join(some, 'media'))).equals(Buffer.concat([1, 4, 5].map((i) => expectedSegment(3, i, 300000))))).toBe(true);

    // Segments cover [10·i, 10·i+10]: 25..41 overlaps segments 2, 3 and 4.
    const range = path.join(work, 'range');
    await restoreOk(repo, backup, { target: range, options: { 'time-range': '25..41', 'payload-only': true } });
    const payloads = [2, 3, 4].map((i) => Buffer.concat([...randomBytesOf(3000 + i, 300000)]));
    expect((await fsp.readFile(path.join(range, 'media'))).equals(Buffer.concat(payloads))).toBe(true);

    const none = failure(await repo.restore(translator, { tree: backup.tree, target: path.join(work, 'none'), snapshot: { meta: backup.meta! }, options: { 'time-range': '1000..' } }));
    expect(none.code).toBe('E_PATH_NOT_IN_SNAPSHOT');
  });

  it('splits a segment larger than a record into parts that restore as one segment', async () => {
    const big = 20 * 1024 * 1024; // more than the 16 MiB a record holds
    const backup = await backupOk(repo, { source: generatorSource('segments', '--seed', '4', '--count', '2', '--bytes', String(big)), options: { 'from-command': true, framing: 'jsonl-segments', name: 'big' } });
    expect(streamMeta(backup)).toMatchObject({ segments: 2 });
    expect(streamMeta(backup).records as number).toBeGreaterThanOrEqual(4);
    const target = path.join(work, 'big-one');
    await restoreOk(repo, backup, { target, options: { segments: '1' } });
    expect((await fsp.readFile(path.join(target, 'big'))).equals(expectedSegment(4, 1, big))).toBe(true);
  });

  it('refuses a stream that is not framed as declared', async () => {
    const notFramed = failure(await repo.backup(translator, { source: generatorSource('random', '--bytes', '100000'), options: { 'from-command': true, framing: 'jsonl-segments' } }));
    expect(notFramed.code).toBe('E_INVALID_SOURCE');
    const cutShort = failure(await repo.backup(translator, { source: JSON.stringify([process.execPath, '-e', 'process.stdout.write(\'{"length": 10}\\nabc\')']), options: { 'from-command': true, framing: 'jsonl-segments' } }));
    expect(cutShort.code).toBe('E_INVALID_SOURCE');
    expect(cutShort.message).toMatch(/ended inside segment 0: 7 payload bytes are missing/);
  });
});

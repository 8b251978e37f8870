import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EBM_MAIN, PASSWORD, ebmOk, summaryOf, tempDir } from '../helpers/cli';

/** The stream translator's deterministic test producer (compiled with the plugin). */
const GENERATOR = path.resolve(__dirname, '..', '..', '..', 'plugins', 'translator-stream', 'dist', 'testing', 'generate-cli.js');
const SIZE = 2 * 1024 ** 3;
/**
 * Peak resident memory allowed to the whole ebm process (host, worker, buffers) for a 2 GiB stream. ebm reports
 * its own peak (VmHWM): getrusage's maxRSS, which it used to report, carried over the jest worker's size through
 * fork and exec (CI saw 415 and 488 MiB, and the backup's and the restore's peaks were always equal).
 */
const PEAK_RSS_LIMIT_KIB = 400 * 1024;

/** SHA-256 of a command's standard output, streamed. */
function hashOf(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; sha256: string; bytes: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, sha256: hash.digest('hex'), bytes, stderr }));
  });
}

/**
 * A 2 GiB stream goes through ebm with bounded memory: the producer (which
 * could write ~1 GB/s) is held back by the repository's pace through the
 * pipe, and nothing accumulates in between. This is a memory assertion, not
 * a timing one: the ebm process reports its own peak RSS in its JSON summary.
 */
describe('a 2 GiB stream backs up and restores in bounded memory', () => {
  let work: string;
  let repo: string;

  beforeAll(async () => {
    work = tempDir('stream-memory');
    repo = path.join(work, 'repo');
    await ebmOk(['init', '-r', repo]);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('keeps the peak RSS of ebm under 400 MiB for backup and restore, and the bytes round-trip', async () => {
    const expected = hashOf([GENERATOR, 'random', '--seed', '42', '--bytes', String(SIZE)]);
    const backup = await ebmOk(
      ['backup', '-r', repo, '-t', 'stream', '--dataset', 'big', '--name', 'big.bin', '--json', '--from-command', '--', process.execPath, GENERATOR, 'random', '--seed', '42', '--bytes', String(SIZE)],
      { timeoutMs: 170_000 },
    );
    const summary = summaryOf(backup);
    console.log(`stream memory: backup of 2 GiB peaked at ${Math.round((summary.peakRssKiB as number) / 1024)} MiB RSS (limit ${PEAK_RSS_LIMIT_KIB / 1024})`);
    expect(summary.peakRssKiB as number).toBeLessThan(PEAK_RSS_LIMIT_KIB);
    const listed = await ebmOk(['snapshots', '-r', repo, '--json']);
    const stream = (listed.lines[0]!.snapshot as { meta: { stream: { bytes: number; sha256: string } } }).meta.stream;
    const want = await expected;
    expect(stream).toMatchObject({ bytes: SIZE, sha256: want.sha256 });

    const env = { ...process.env, EBM_PASSWORD: PASSWORD, EBM_REPOSITORY: undefined } as NodeJS.ProcessEnv;
    const restored = await hashOf([EBM_MAIN, 'restore', '-r', repo, 'latest', '-d', 'big', '--to-stdout', '--json'], env);
    expect(restored.code).toBe(0);
    expect(restored).toMatchObject({ bytes: SIZE, sha256: want.sha256 });
    const restoreSummary = restored.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.type === 'summary')!;
    console.log(`stream memory: restore of 2 GiB peaked at ${Math.round((restoreSummary.peakRssKiB as number) / 1024)} MiB RSS`);
    expect(restoreSummary.peakRssKiB as number).toBeLessThan(PEAK_RSS_LIMIT_KIB);
  }, 240_000);
});

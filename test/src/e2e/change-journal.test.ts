import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareTrees } from '@ebm/core';
import { ebmOk, tempDir } from '../helpers/cli';
import { api, Host, startHost, stopHost, waitForJob, writeHostConfig } from '../helpers/host';

interface DatasetStatus {
  readonly name: string;
  readonly journal?: { readonly state: string; readonly reason?: string; readonly watcherPid?: number; readonly base?: string };
}
interface JobResult {
  readonly snapshotId: string;
  readonly changeJournal?: { readonly used: boolean; readonly paths?: number; readonly reason?: string };
}

/**
 * A dataset with a change journal, through a real `ebm serve`: the host runs
 * fswatch on the source, the first backup scans everything (no parent), the
 * next ones stat only what changed, and a watcher that dies makes exactly one
 * backup fall back to a full scan, saying why.
 */
describe('change journal (ebm serve)', () => {
  let work: string;
  let repo: string;
  let source: string;
  let host: Host | undefined;

  beforeAll(async () => {
    work = tempDir('journal');
    repo = path.join(work, 'repo');
    source = path.join(work, 'source');
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(source, `dir-${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(source, `dir-${d}`, f % 3 ? 'sub' : '', `file-${f}.txt`), `dir ${d} file ${f}\n`.repeat(f + 1));
    }
    await ebmOk(['init', '-r', repo]);
    const config = writeHostConfig(work, [
      `repositories: { main: { path: ${repo}, passwordEnv: EBM_PASSWORD } }`,
      'datasets:',
      `  docs: { source: ${source}, repository: main, journal: { fullScanEvery: 0 } }`,
    ]);
    host = await startHost(config);
  });

  afterAll(async () => {
    if (host) await stopHost(host);
    fs.rmSync(work, { recursive: true, force: true });
  });

  const journalStatus = async (): Promise<NonNullable<DatasetStatus['journal']>> => {
    const { body } = await api<{ datasets: DatasetStatus[] }>(host!, 'GET', '/api/v1/status');
    return body.datasets.find((d) => d.name === 'docs')!.journal!;
  };
  const waitForJournal = async (state: string): Promise<NonNullable<DatasetStatus['journal']>> => {
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      const s = await journalStatus();
      if (s.state === state) return s;
    }
    throw new Error(`the journal never became ${state}: ${JSON.stringify(await journalStatus())}`);
  };
  const backup = async (): Promise<JobResult> => {
    const trigger = await api<{ id: string }>(host!, 'POST', '/api/v1/datasets/docs/backup', {});
    const job = await waitForJob(host!, trigger.body.id, ['done', 'failed']);
    if (job.state !== 'done') throw new Error(`backup failed: ${JSON.stringify(job.error)}`);
    return job.result as unknown as JobResult;
  };
  const scanOf = async (snapshotId: string): Promise<Record<string, unknown>> => {
    const run = await ebmOk(['snapshots', '-r', repo, '--json']);
    const snap = run.lines.map((l) => l.snapshot as { id: string; meta?: { scan?: Record<string, unknown> } }).find((s) => s?.id === snapshotId);
    return snap!.meta!.scan!;
  };

  it('stats only the changed paths once the journal has seen a backup start, and falls back to one full scan after a gap', async () => {
    await waitForJournal('watching');
    const first = await backup();
    expect(first.changeJournal).toEqual({ used: false, reason: 'there is no parent snapshot (a baseline)' });
    expect(await scanOf(first.snapshotId)).toEqual({ mode: 'full' });

    fs.appendFileSync(path.join(source, 'dir-3', 'sub', 'file-4.txt'), 'changed\n');
    fs.rmSync(path.join(source, 'dir-7', 'file-0.txt'));
    fs.mkdirSync(path.join(source, 'dir-9', 'new'));
    fs.writeFileSync(path.join(source, 'dir-9', 'new', 'added.txt'), 'added\n');
    const second = await backup();
    expect(second.changeJournal).toMatchObject({ used: true });
    const scan = await scanOf(second.snapshotId);
    expect(scan).toMatchObject({ mode: 'journal' });
    // 600 files in 40 directories, but only the changed paths and their ancestors were looked at.
    expect(scan.statted as number).toBeLessThanOrEqual(12);
    const target = path.join(work, 'restored');
    await ebmOk(['restore', '-r', repo, second.snapshotId, '--target', target]);
    expect(await compareTrees(source, target)).toEqual([]);

    // The watcher dies: whatever changed meanwhile is unknown, so the next backup scans everything and says why.
    process.kill((await journalStatus()).watcherPid!, 'SIGKILL');
    await waitForJournal('gap');
    fs.appendFileSync(path.join(source, 'dir-12', 'file-3.txt'), 'changed while nobody watched\n');
    await waitForJournal('watching');
    const afterGap = await backup();
    expect(afterGap.changeJournal).toMatchObject({ used: false, reason: expect.stringMatching(/^the journal has a gap: fswatch exited \(SIGKILL\)/) });
    expect(await scanOf(afterGap.snapshotId)).toEqual({ mode: 'full' });

    fs.appendFileSync(path.join(source, 'dir-15', 'sub', 'file-5.txt'), 'and again\n');
    const trustedAgain = await backup();
    expect(trustedAgain.changeJournal).toMatchObject({ used: true, paths: 1 });
    const again = path.join(work, 'restored-again');
    await ebmOk(['restore', '-r', repo, trustedAgain.snapshotId, '--target', again]);
    expect(await compareTrees(source, again)).toEqual([]);
  }, 120_000);
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareTrees, generateSampleTree } from '@ebm/core';
import { ebm, ebmOk, spawnEbm, summaryOf, tempDir } from '../helpers/cli';

/**
 * A backup process killed with SIGKILL at random moments must leave a
 * repository that `check --read-data` accepts, and the next backup must
 * complete and restore exactly. Kill points are drawn at random (logged, so a
 * failure can be replayed) across the whole duration of a backup.
 */
describe('crash safety', () => {
  let work: string;
  let repo: string;
  let source: string;

  beforeAll(async () => {
    work = tempDir('crash');
    repo = path.join(work, 'repo');
    source = path.join(work, 'source');
    await generateSampleTree(source, { files: 900, seed: 3 });
    await ebmOk(['init', '-r', repo]);
  });

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('survives SIGKILL at random points of a backup', async () => {
    // How long does an uninterrupted backup take here? Kill within that span.
    const probeRepo = path.join(work, 'probe');
    await ebmOk(['init', '-r', probeRepo]);
    const t0 = Date.now();
    await ebmOk(['backup', '-r', probeRepo, source]);
    const span = Math.max(Date.now() - t0, 300);

    const killPoints = Array.from({ length: 6 }, (_, i) => Math.round(((i + Math.random()) / 6) * span));
    // eslint-disable-next-line no-console
    console.log(`backup takes ~${span} ms; killing at ${killPoints.join(', ')} ms`);
    for (const at of killPoints) {
      const child = spawnEbm(['backup', '-r', repo, source, '--dataset', 'crash', '--full']);
      // Listen before waiting: a backup that deduplicates against earlier data
      // may finish before the kill point, and its 'close' must not be missed.
      const closed = new Promise((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, at));
      child.kill('SIGKILL');
      await closed;
      const check = await ebm(['check', '-r', repo, '--read-data']);
      if (check.code !== 0) throw new Error(`check failed after a kill at ${at} ms:\n${check.stdout}\n${check.stderr}`);
    }

    const final = summaryOf(await ebmOk(['backup', '-r', repo, source, '--dataset', 'crash', '--json']));
    expect(final.snapshot).toEqual(expect.any(String));
    const target = path.join(work, 'restored');
    await ebmOk(['restore', '-r', repo, final.snapshot as string, '--target', target]);
    expect(await compareTrees(source, target)).toEqual([]);

    // prune reclaims what the killed backups left, and everything still checks out
    await ebmOk(['prune', '-r', repo]);
    await ebmOk(['check', '-r', repo, '--read-data']);
    const again = path.join(work, 'restored-after-prune');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', again]);
    expect(await compareTrees(source, again)).toEqual([]);
  }, 240_000); // seven real backups (a probe and six killed ones) and checks: slow on a loaded 2-core CI machine
});

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { formatBytes, formatDuration } from '../output';
import { ProgressDisplay } from '../progress-display';
import { LocalBackend } from '../../backend/local-backend';
import { createDataMover } from '../../mover/data-mover';
import { Repository } from '../../repository/repository';
import { BackupService } from '../../backup/backup-service';
import { RestoreService } from '../../restore/restore-service';
import { HostEvents } from '../../events/host-events';
import { checkRepository } from '../../checker/check';
import { generateSampleTree, mutateSampleTree } from '../../demo/sample-tree';
import { compareTrees } from '../../demo/tree-compare';

interface DemoOptions { dir?: string; files?: string; keep?: boolean }

/**
 * The README's "main job": a whole round trip on a local repository with no
 * setup — init, baseline backup, ~1 % change, incremental backup, restore,
 * byte-for-byte comparison and a full data check — with the figures printed.
 */
export const registerDemo: RegisterCommand = (program, run) => {
  program
    .command('demo')
    .description('create a local repository, back up a generated tree twice (with changes between), restore, compare and verify')
    .option('--dir <dir>', 'work directory (default: a new folder under the system temp dir)')
    .option('--files <n>', 'number of files in the sample tree', '1500')
    .option('--keep', 'keep the work directory (repository, source, restore) afterwards')
    .action(
      run(async (ctx: CliContext, opts: DemoOptions) => {
        const out = ctx.output;
        const work = opts.dir ? path.resolve(opts.dir) : await fs.mkdtemp(path.join(os.tmpdir(), 'ebm-demo-'));
        const source = path.join(work, 'source');
        const repoDir = path.join(work, 'repository');
        const restoreDir = path.join(work, 'restored');
        const password = process.env.EBM_PASSWORD ?? 'ebm-demo-password';
        const step = (name: string, fields: Record<string, unknown>, text: string) => {
          out.info(text);
          out.line({ type: 'step', step: name, ...fields });
        };
        try {
          await fs.mkdir(work, { recursive: true });
          if ((await fs.readdir(work)).length > 0 && opts.dir) throw new EbmError('E_TARGET_NOT_EMPTY', `demo directory ${work} is not empty; choose a new one`, { subject: work });
          out.info(`ebm demo in ${work}`);
          const gen = await generateSampleTree(source, { files: Number(opts.files ?? 1500) });
          step('generate', { source, ...gen }, `1. generated a sample tree: ${gen.files} files, ${formatBytes(gen.bytes)} (${source})`);

          const repo = await Repository.init(createDataMover(new LocalBackend(repoDir)), password);
          step('init', { repository: repoDir }, `2. created an encrypted repository (${repoDir})`);

          const backup = ctx.container.resolve(BackupService);
          const events = ctx.container.resolve(HostEvents);
          const runBackup = async (label: string) => {
            const detach = new ProgressDisplay(label, out).attach(events);
            return backup.backup({ repository: repo, translator: 'filesystem', source, dataset: 'demo', signal: ctx.signal }).finally(detach);
          };
          const first = await runBackup('backup 1');
          const s1 = first.snapshot.summary;
          step('backup', { n: 1, snapshot: first.snapshotId, ...s1 },
            `3. baseline backup ${first.snapshotId.slice(0, 8)}: read ${formatBytes(s1.bytesRead)}, stored ${formatBytes(s1.bytesAdded)} (compressed, encrypted) in ${formatDuration(s1.durationMs)}`);

          const changes = await mutateSampleTree(source, 0.01);
          step('mutate', changes, `4. changed the tree: ${changes.modified} modified, ${changes.added} added, ${changes.deleted} deleted`);

          const second = await runBackup('backup 2');
          const s2 = second.snapshot.summary;
          step('backup', { n: 2, snapshot: second.snapshotId, ...s2 },
            `5. incremental backup ${second.snapshotId.slice(0, 8)}: ${s2.filesReused} of ${s2.files} files unchanged and not read, read ${formatBytes(s2.bytesRead)}, added ${formatBytes(s2.bytesAdded)} in ${formatDuration(s2.durationMs)}`);

          const restoreStarted = Date.now();
          const detach = new ProgressDisplay('restore', out).attach(events);
          const restored = await ctx.container
            .resolve(RestoreService)
            .restore({ repository: repo, snapshot: second.snapshot, target: restoreDir, signal: ctx.signal })
            .finally(detach);
          const restoreMs = Date.now() - restoreStarted;
          step('restore', { target: restoreDir, durationMs: restoreMs, ...restored },
            `6. restored the latest snapshot: ${restored.files} files, ${formatBytes(restored.bytes)} in ${formatDuration(restoreMs)}`);

          const diffs = await compareTrees(source, restoreDir);
          step('compare', { differences: diffs.length }, diffs.length === 0 ? '7. restored tree equals the source (bytes, modes, mtimes, symlinks, hardlinks)' : `7. restored tree DIFFERS from the source:\n${diffs.slice(0, 10).join('\n')}`);

          const report = await checkRepository(repo, { readData: true });
          step('check', { errors: report.errors.length }, report.errors.length === 0 ? '8. check --read-data: no errors (every pack re-hashed, every blob decrypted and verified)' : `8. check found ${report.errors.length} error(s)`);

          const repoBytes = await dirSize(repoDir);
          const dedup = gen.bytes > 0 ? (s1.bytesTotal + s2.bytesTotal) / Math.max(repoBytes, 1) : 0;
          out.info('');
          out.info(`summary: two snapshots of ${formatBytes(s2.bytesTotal)} each take ${formatBytes(repoBytes)} on disk (${dedup.toFixed(1)}x less than two plain copies);`);
          out.info(`         the incremental read ${formatBytes(s2.bytesRead)} and added ${formatBytes(s2.bytesAdded)}.`);
          out.line({ type: 'summary', op: 'demo', work, repositoryBytes: repoBytes, ratio: dedup, ok: diffs.length === 0 && report.errors.length === 0 });
          if (diffs.length > 0 || report.errors.length > 0) throw new EbmError('E_CHECK_FAILED', 'the demo found a difference or a repository error (see above)');
          out.info(opts.keep ? `kept ${work}` : 'demo succeeded');
        } finally {
          if (!opts.keep) await fs.rm(work, { recursive: true, force: true });
        }
      }),
    );
};

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await dirSize(p) : (await fs.stat(p)).size;
  }
  return total;
}

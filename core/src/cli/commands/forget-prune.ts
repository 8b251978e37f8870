import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import { EbmError } from '@ebm/sdk';
import { formatBytes } from '../output';
import { ProgressDisplay } from '../progress-display';
import { acquireLock } from '../../locks/lock';
import { applyForgetPolicy } from '../../snapshots/forget-policy';
import { listSnapshots, removeSnapshot, findSnapshot } from '../../snapshots/snapshot-store';
import { prune } from '../../prune/prune';
import type { Repository } from '../../repository/repository';
import { assertForgettable, holdReferencedLayers } from '../../layers/layer-references';

interface ForgetOptions {
  keepLast?: string; keepHourly?: string; keepDaily?: string; keepWeekly?: string; keepMonthly?: string; keepYearly?: string;
  keepTag?: string[]; dataset?: string; prune?: boolean; dryRun?: boolean;
}

export const registerForget: RegisterCommand = (program, run) => {
  program
    .command('forget')
    .description('remove snapshots: the ids given, or those a retention policy does not keep (per dataset and host)')
    .argument('[snapshots...]', 'snapshot ids to forget')
    .option('--keep-last <n>', 'keep the n latest snapshots')
    .option('--keep-hourly <n>', 'keep the latest snapshot of each of the last n hours that have one')
    .option('--keep-daily <n>', 'keep the latest snapshot of each of the last n days that have one')
    .option('--keep-weekly <n>', 'keep the latest snapshot of each of the last n weeks that have one')
    .option('--keep-monthly <n>', 'keep the latest snapshot of each of the last n months that have one')
    .option('--keep-yearly <n>', 'keep the latest snapshot of each of the last n years that have one')
    .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect)
    .option('-d, --dataset <name>', 'apply the policy to this dataset only')
    .option('--prune', 'prune the repository afterwards')
    .option('-n, --dry-run', 'only show what would be removed')
    .action(
      run(async (ctx: CliContext, ids: string[], opts: ForgetOptions) => {
        const repo = await ctx.openRepository();
        const lock = await acquireLock(repo, { exclusive: true, operation: 'forget' });
        try {
          const doomed = ids.length > 0 ? await byIds(repo, ids) : await byPolicy(ctx, repo, opts);
          for (const s of doomed) {
            ctx.output.info(`${opts.dryRun ? 'would remove' : 'removing'} snapshot ${s.id.slice(0, 8)} ${s.time} ${s.dataset}`);
            ctx.output.line({ type: 'result', op: 'forget', snapshot: s.id, removed: !opts.dryRun });
            if (!opts.dryRun) await removeSnapshot(repo, s.id);
          }
          ctx.output.info(`${doomed.length} snapshot(s) ${opts.dryRun ? 'would be' : ''} removed`.replace('  ', ' '));
          if (opts.prune && !opts.dryRun) await runPrune(ctx, repo, false);
        } finally {
          await lock.release();
        }
      }),
    );
};

async function byPolicy(ctx: CliContext, repo: Repository, opts: ForgetOptions) {
  const num = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new EbmError('E_USAGE', `${flag} ${v}: expected a whole number`);
    return n;
  };
  const policy = {
    keepLast: num(opts.keepLast, '--keep-last'), keepHourly: num(opts.keepHourly, '--keep-hourly'), keepDaily: num(opts.keepDaily, '--keep-daily'),
    keepWeekly: num(opts.keepWeekly, '--keep-weekly'), keepMonthly: num(opts.keepMonthly, '--keep-monthly'), keepYearly: num(opts.keepYearly, '--keep-yearly'),
    keepTags: opts.keepTag,
  };
  if (Object.values(policy).every((v) => v === undefined)) {
    throw new EbmError('E_USAGE', 'forget needs snapshot ids or at least one --keep-* option (refusing to remove everything)');
  }
  const listing = await listSnapshots(repo);
  const snapshots = listing.snapshots.filter((s) => !opts.dataset || s.dataset === opts.dataset);
  const decision = applyForgetPolicy(snapshots, policy);
  for (const k of decision.keep) ctx.output.info(`keeping snapshot ${k.snapshot.id.slice(0, 8)} ${k.snapshot.time} ${k.snapshot.dataset} (${k.reasons.join(', ')})`);
  // Layered endpoints: a layer snapshot an endpoint snapshot still names is never removed (docs/format.md).
  const { remove, held } = holdReferencedLayers(listing.snapshots, decision.remove.map((r) => r.snapshot), listing.failures.length);
  for (const h of held) ctx.output.info(`keeping snapshot ${h.snapshot.id.slice(0, 8)} ${h.snapshot.time} ${h.snapshot.dataset} (${h.reason})`);
  return remove;
}

/** Forget by id: refused (E_SNAPSHOT_IN_USE) for a layer snapshot that an endpoint snapshot not being forgotten names. */
async function byIds(repo: Repository, ids: readonly string[]) {
  const doomed = await Promise.all(ids.map((id) => findSnapshot(repo, id)));
  assertForgettable((await listSnapshots(repo)).snapshots, doomed);
  return doomed;
}

export const registerPrune: RegisterCommand = (program, run) => {
  program
    .command('prune')
    .description('remove data no snapshot references (takes an exclusive lock)')
    .option('-n, --dry-run', 'only show what would be removed')
    .action(
      run(async (ctx: CliContext, opts: { dryRun?: boolean }) => {
        const repo = await ctx.openRepository();
        const lock = await acquireLock(repo, { exclusive: true, operation: 'prune' });
        try {
          await runPrune(ctx, repo, Boolean(opts.dryRun));
        } finally {
          await lock.release();
        }
      }),
    );
};

async function runPrune(ctx: CliContext, repo: Repository, dryRun: boolean): Promise<void> {
  const progress = new ProgressDisplay('prune', ctx.output);
  const report = await prune(repo, { dryRun, onProgress: (p) => progress.update({ files: p.done, ...(p.total !== undefined ? { totalFiles: p.total } : {}), currentPath: p.phase }) }).finally(() => progress.done());
  ctx.output.info(
    `${dryRun ? 'would free' : 'freed'} ${formatBytes(report.bytesFreed)}: ${report.packsDeleted} pack(s) deleted, ${report.packsRewritten} rewritten, ${report.blobsRemoved} blob(s) removed` +
      (report.temporaryFilesDeleted > 0 ? `, ${report.temporaryFilesDeleted} temporary file(s) of interrupted writes removed` : ''),
  );
  ctx.output.line({ type: 'summary', op: 'prune', dryRun, ...report });
}

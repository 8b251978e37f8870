import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { ProgressDisplay } from '../progress-display';
import { checkRepository } from '../../checker/check';
import { acquireLock } from '../../locks/lock';

interface CheckOptions { readData?: boolean; readDataSubset?: string }

export const registerCheck: RegisterCommand = (program, run) => {
  program
    .command('check')
    .description('verify the repository: structure always; with --read-data every pack byte, blob and header')
    .option('--read-data', 're-read every pack, verify its hash, decrypt, decompress and re-hash every blob')
    .option('--read-data-subset <n%|k/n>', 'like --read-data for a subset of packs: "10%" or "2/5" (the second of five parts)')
    .action(
      run(async (ctx: CliContext, opts: CheckOptions) => {
        const repo = await ctx.openRepository();
        const subset = opts.readDataSubset ? parseSubset(opts.readDataSubset) : undefined;
        const lock = await acquireLock(repo, { exclusive: false, operation: 'check' });
        const progress = new ProgressDisplay('check', ctx.output);
        try {
          const report = await checkRepository(repo, {
            readData: Boolean(opts.readData) || subset !== undefined,
            ...(subset ? { readDataSubset: subset } : {}),
            onProgress: (p) => progress.update({ files: p.done, ...(p.total !== undefined ? { totalFiles: p.total } : {}), currentPath: p.phase }),
          }).finally(() => progress.done());
          for (const e of report.errors) {
            ctx.output.print(`error: ${e.kind} ${e.subject}: ${e.message}`);
            ctx.output.line({ type: 'result', op: 'check', error: e });
          }
          if (report.unreferencedPacks.length > 0) {
            ctx.output.info(`note: ${report.unreferencedPacks.length} pack(s) are not named by any index (left by an interrupted backup); \`ebm prune\` removes them`);
          }
          ctx.output.line({ type: 'summary', op: 'check', ...report });
          if (report.errors.length > 0) {
            throw new EbmError('E_CHECK_FAILED', `check found ${report.errors.length} error(s); see above`);
          }
          ctx.output.info(`no errors were found (${describe(report.counts)})`);
        } finally {
          await lock.release();
        }
      }),
    );
};

function describe(report: { snapshots?: number; packs?: number; blobs?: number; packsRead?: number }): string {
  const parts = [`${report.snapshots ?? 0} snapshots`, `${report.packs ?? 0} packs`, `${report.blobs ?? 0} blobs`];
  if (report.packsRead) parts.push(`${report.packsRead} packs read`);
  return parts.join(', ');
}

function parseSubset(text: string): { percent: number } | { nth: number; of: number } {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 0 && percent <= 100) return { percent };
  }
  const part = /^(\d+)\/(\d+)$/.exec(text);
  if (part) {
    const nth = Number(part[1]);
    const of = Number(part[2]);
    if (nth >= 1 && nth <= of) return { nth, of };
  }
  throw new EbmError('E_USAGE', `--read-data-subset ${text}: use a percentage like "10%" or a part like "2/5"`);
}

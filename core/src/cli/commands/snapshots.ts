import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import { formatBytes } from '../output';
import { listSnapshots } from '../../snapshots/snapshot-store';

interface SnapshotsOptions { dataset?: string; host?: string; tag?: string[] }

export const registerSnapshots: RegisterCommand = (program, run) => {
  program
    .command('snapshots')
    .description('list snapshots (oldest first)')
    .option('-d, --dataset <name>', 'only this dataset')
    .option('--host <name>', 'only this host')
    .option('--tag <tag>', 'only snapshots with this tag (repeatable: all must match)', collect)
    .action(
      run(async (ctx: CliContext, opts: SnapshotsOptions) => {
        const repo = await ctx.openRepository();
        const { snapshots: all, failures } = await listSnapshots(repo);
        for (const f of failures) ctx.output.warn(`snapshot ${f.id.slice(0, 8)} cannot be read: ${f.error.message}`);
        const shown = all.filter(
          (s) => (!opts.dataset || s.dataset === opts.dataset) && (!opts.host || s.host === opts.host) && (opts.tag ?? []).every((t) => s.tags.includes(t)),
        );
        if (ctx.output.json) {
          for (const s of shown) ctx.output.line({ type: 'result', op: 'snapshots', snapshot: s });
          return;
        }
        const rows = shown.map((s) => [
          s.id.slice(0, 8),
          s.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          s.host,
          s.dataset,
          s.translator.id,
          String(s.summary.files),
          formatBytes(s.summary.bytesTotal),
          formatBytes(s.summary.bytesAdded),
          s.tags.join(','),
        ]);
        printTable(ctx, ['id', 'time', 'host', 'dataset', 'translator', 'files', 'size', 'added', 'tags'], rows);
        ctx.output.info(`${shown.length} snapshot(s)`);
      }),
    );
};

export function printTable(ctx: CliContext, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  ctx.output.print(fmt(header));
  ctx.output.print(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) ctx.output.print(fmt(r));
}

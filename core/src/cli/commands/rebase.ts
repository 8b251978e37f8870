import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { formatBytes } from '../output';
import { rebaseEndpoint } from '../../layers/rebase';
import { resolveSnapshotArg } from './snapshot-arg';

/**
 * `ebm rebase ENDPOINT_SNAP --to NEWBASE_SNAP`: moves an endpoint onto a new
 * base by comparing fingerprints (docs/layers.md, "Rebasing an endpoint").
 */
export const registerRebase: RegisterCommand = (program, run) => {
  program
    .command('rebase')
    .description('move an endpoint snapshot onto a new base: its top layer is recomputed against the new base (trees only, no source read), so its next backup is relative to the new base')
    .argument('<endpoint>', 'endpoint snapshot: id, prefix or latest (with --dataset)')
    .requiredOption('--to <base>', 'the new base\'s snapshot (tag base): id or prefix')
    .option('-d, --dataset <name>', "with 'latest': the latest snapshot of this endpoint")
    .action(
      run(async (ctx: CliContext, endpointArg: string, opts: { to: string; dataset?: string }) => {
        const repo = await ctx.openRepository();
        const endpoint = await resolveSnapshotArg(repo, endpointArg, opts.dataset);
        const to = await resolveSnapshotArg(repo, opts.to);
        const r = await rebaseEndpoint({ repository: repo, endpoint, to });
        ctx.output.info(`endpoint snapshot ${r.snapshot.id.slice(0, 8)} saved (dataset ${endpoint.dataset}): base ${to.id.slice(0, 8)} + layer ${r.layer.id.slice(0, 8)} (${r.entries} entries, ${r.whiteouts} whiteouts, ${formatBytes(r.layer.summary.bytesAdded)} of trees added)`);
        ctx.output.line({
          type: 'summary', op: 'rebase', snapshot: r.snapshot.id, parent: endpoint.id, dataset: endpoint.dataset, base: to.id,
          layer: r.layer.id, layerDataset: r.layer.dataset, entries: r.entries, whiteouts: r.whiteouts, bytesAdded: r.layer.summary.bytesAdded,
        });
        return 0;
      }),
    );
};

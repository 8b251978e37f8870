import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import { formatBytes } from '../output';
import { synthesizeFull, synthesizeIncremental } from '../../layers/synthesize';
import { resolveSnapshotArg } from './snapshot-arg';

interface SynthesizeOptions { collapse?: string; dataset?: string; tag?: string[] }

/**
 * `ebm synthesize SNAP [--dataset NAME]` (synthetic full) and
 * `ebm synthesize --collapse A..B` (synthetic incremental of a base's delta
 * chain): snapshots computed from stored trees, no source read
 * (docs/layers.md, "Synthetic snapshots").
 */
export const registerSynthesize: RegisterCommand = (program, run) => {
  program
    .command('synthesize')
    .description('compute a snapshot from stored layers without reading any source: the merged view of a layered snapshot as one ordinary snapshot, or (--collapse A..B) a base\'s delta chain as one delta')
    .argument('[snapshot]', 'a layered snapshot (an endpoint, or a base stored as an older base plus a delta): id or id prefix')
    .option('--collapse <a..b>', 'collapse the layers of base snapshot B above snapshot A into one delta on A')
    .option('-d, --dataset <name>', 'dataset of the synthetic full (default: a base\'s own dataset; <endpoint>#full for an endpoint)')
    .option('--tag <tag>', 'tag the synthetic full (repeatable)', collect)
    .action(
      run(async (ctx: CliContext, snapshotArg: string | undefined, opts: SynthesizeOptions) => {
        const repo = await ctx.openRepository();
        if (opts.collapse !== undefined) {
          if (snapshotArg !== undefined || opts.dataset !== undefined || opts.tag !== undefined) throw new EbmError('E_USAGE', '--collapse A..B takes no snapshot argument, --dataset or --tag');
          const parts = opts.collapse.split('..');
          if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new EbmError('E_USAGE', `--collapse ${opts.collapse}: expected A..B (two snapshot ids or prefixes)`);
          const from = await resolveSnapshotArg(repo, parts[0]!);
          const to = await resolveSnapshotArg(repo, parts[1]!);
          const r = await synthesizeIncremental({ repository: repo, from, to });
          ctx.output.info(`collapsed ${r.collapsed.length} layers of ${to.id.slice(0, 8)} above ${from.id.slice(0, 8)} into delta ${r.delta.id.slice(0, 8)} (${r.entries} entries, ${r.whiteouts} whiteouts)`);
          ctx.output.info(`base snapshot ${r.snapshot.id.slice(0, 8)} saved (dataset ${r.snapshot.dataset}): ${from.id.slice(0, 8)} + ${r.delta.id.slice(0, 8)}, ${formatBytes(r.delta.summary.bytesAdded)} added`);
          ctx.output.line({
            type: 'summary', op: 'synthesize', kind: 'incremental', snapshot: r.snapshot.id, dataset: r.snapshot.dataset, delta: r.delta.id,
            from: from.id, to: to.id, collapsed: r.collapsed.map((l) => l.snapshot.id), entries: r.entries, whiteouts: r.whiteouts, bytesAdded: r.delta.summary.bytesAdded,
          });
          return 0;
        }
        if (snapshotArg === undefined) throw new EbmError('E_USAGE', 'missing the layered snapshot to synthesize (or --collapse A..B)');
        const snapshot = await resolveSnapshotArg(repo, snapshotArg);
        const r = await synthesizeFull({ repository: repo, snapshot, ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}), ...(opts.tag ? { tags: opts.tag } : {}) });
        const s = r.snapshot.summary;
        ctx.output.info(`synthetic full ${r.snapshot.id.slice(0, 8)} saved (dataset ${r.snapshot.dataset}) from ${snapshot.id.slice(0, 8)}: ${r.layers.length} layers merged, ${s.files} files, ${formatBytes(s.bytesTotal)}, nothing read, ${formatBytes(s.bytesAdded)} of trees added`);
        ctx.output.line({
          type: 'summary', op: 'synthesize', kind: 'full', snapshot: r.snapshot.id, dataset: r.snapshot.dataset, from: snapshot.id,
          layers: r.layers.map((l) => l.snapshot.id), ...s,
        });
        return 0;
      }),
    );
};

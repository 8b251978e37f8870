import { EbmError, ENTRY_KINDS } from '@ebm/sdk';
import type { EntryKind } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { formatBytes } from '../output';
import { DEFAULT_FIND_LIMIT } from '../../catalog/find';
import { CATALOG_FILE_FLAGS, CATALOG_FILE_HELP, CatalogFileOption, withSyncedCatalog } from './catalog';

interface FindCliOptions extends CatalogFileOption {
  readonly dataset?: string;
  readonly snapshot?: string;
  readonly kind?: string;
  readonly limit?: string;
}

export const registerFind: RegisterCommand = (program, run) => {
  program
    .command('find')
    .description('search file names or paths across all snapshots and datasets (through the catalog), newest first')
    .argument('<pattern>', 'a name glob matched at any depth ("*.pdf", "report-20??.*") or a path glob from the snapshot root ("docs/**/report*"); a trailing / matches directories only')
    .option('-d, --dataset <name>', 'only snapshots of this dataset')
    .option('-s, --snapshot <id>', "only this snapshot (id, unique prefix, or 'latest')")
    .option('--kind <kind>', `only entries of this kind (${ENTRY_KINDS.join(', ')})`)
    .option('-n, --limit <n>', 'print at most this many matches', String(DEFAULT_FIND_LIMIT))
    .option(CATALOG_FILE_FLAGS, CATALOG_FILE_HELP)
    .action(
      run(async (ctx: CliContext, pattern: string, opts: FindCliOptions) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new EbmError('E_USAGE', `find: --limit must be a positive integer, not ${JSON.stringify(opts.limit)}`);
        if (opts.kind !== undefined && !ENTRY_KINDS.includes(opts.kind as EntryKind)) {
          throw new EbmError('E_USAGE', `find: --kind must be one of ${ENTRY_KINDS.join(', ')}, not ${JSON.stringify(opts.kind)}`);
        }
        const repo = await ctx.openRepository();
        const hits = await withSyncedCatalog(ctx, repo, opts, (catalog) =>
          catalog.find(pattern, {
            repositoryId: repo.config.id,
            limit: limit + 1, // one more, to say whether the output was cut
            ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}),
            ...(opts.snapshot !== undefined ? { snapshot: opts.snapshot } : {}),
            ...(opts.kind !== undefined ? { kind: opts.kind as EntryKind } : {}),
          }),
        );
        const truncated = hits.length > limit;
        const shown = hits.slice(0, limit);
        for (const h of shown) {
          ctx.output.line({ type: 'result', op: 'find', ...h });
          const size = h.kind === 'dir' ? '-' : formatBytes(h.size ?? 0);
          const mtime = h.mtimeNs ? new Date(Number(BigInt(h.mtimeNs) / 1000000n)).toISOString().slice(0, 19).replace('T', ' ') : '-';
          ctx.output.print(`${h.time.slice(0, 19).replace('T', ' ')}  ${h.snapshotId.slice(0, 8)}  ${h.dataset.padEnd(12)} ${h.kind.padEnd(8)} ${size.padStart(10)}  ${mtime}  ${h.path}${h.kind === 'dir' ? '/' : ''}`);
        }
        ctx.output.line({ type: 'summary', op: 'find', pattern, matches: shown.length, truncated });
        if (truncated) ctx.output.info(`(first ${limit} matches shown; raise --limit for more)`);
        else if (shown.length === 0) ctx.output.info(`no match for ${JSON.stringify(pattern)}`);
      }),
    );
};

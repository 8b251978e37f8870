import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { removeStaleLocks } from '../../locks/unlock';

export const registerUnlock: RegisterCommand = (program, run) => {
  program
    .command('unlock')
    .description('remove stale locks (of dead processes, or not refreshed for 30 minutes)')
    .option('--remove-all', 'remove all locks, also live ones (only when you are sure nothing runs)')
    .action(
      run(async (ctx: CliContext, opts: { removeAll?: boolean }) => {
        const repo = await ctx.openRepository();
        const removed = await removeStaleLocks(repo, { all: Boolean(opts.removeAll) });
        ctx.output.info(`removed ${removed} lock(s)`);
        ctx.output.line({ type: 'result', op: 'unlock', removed });
      }),
    );
};

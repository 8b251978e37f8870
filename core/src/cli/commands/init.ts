import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { Repository } from '../../repository/repository';

export const registerInit: RegisterCommand = (program, run) => {
  program
    .command('init')
    .description('create a new encrypted repository at -r/--repo')
    .action(
      run(async (ctx: CliContext) => {
        const backend = ctx.backend();
        const repo = await Repository.init(backend, await ctx.password(true));
        ctx.output.info(`created ebm repository ${repo.config.id.slice(0, 12)} at ${backend.location}`);
        ctx.output.info('keep the password safe: without it the data cannot be decrypted');
        ctx.output.line({ type: 'result', op: 'init', repository: repo.config.id, location: backend.location, keyId: repo.keyId });
      }),
    );
};

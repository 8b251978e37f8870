import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { Repository } from '../../repository/repository';
import { ENCRYPTION_ALGORITHMS, isEncryptionAlgorithm } from '../../crypto/object-cipher';

export const registerInit: RegisterCommand = (program, run) => {
  program
    .command('init')
    .description('create a new repository at -r/--repo (encrypted unless --encryption none)')
    .option('--encryption <algorithm>', `how every stored object is protected: ${ENCRYPTION_ALGORITHMS.join(' or ')} (integrity only, no password)`, 'aes-256-gcm')
    .action(
      run(async (ctx: CliContext, opts: { encryption: string }) => {
        if (!isEncryptionAlgorithm(opts.encryption)) {
          throw new EbmError('E_USAGE', `--encryption ${JSON.stringify(opts.encryption)}: use ${ENCRYPTION_ALGORITHMS.map((a) => `"${a}"`).join(' or ')}`);
        }
        const backend = ctx.backend();
        const encrypted = opts.encryption !== 'none';
        const repo = await Repository.init(backend, encrypted ? await ctx.password(true) : undefined, { encryption: opts.encryption });
        ctx.output.info(`created ${encrypted ? 'encrypted' : 'UNENCRYPTED'} ebm repository ${repo.config.id.slice(0, 12)} at ${backend.location} (format version ${repo.config.version})`);
        ctx.output.info(encrypted
          ? 'keep the password safe: without it the data cannot be decrypted'
          : 'anyone who can read this directory can read the backed-up data; damage is still detected');
        ctx.output.line({ type: 'result', op: 'init', repository: repo.config.id, location: backend.location, keyId: repo.keyId, encryption: opts.encryption, formatVersion: repo.config.version });
      }),
    );
};

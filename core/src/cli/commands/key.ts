import * as fs from 'node:fs';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { EbmError } from '@ebm/sdk';
import { listKeys, removeKey } from '../../repository/keys';
import { printTable } from './snapshots';
import { promptHidden } from '../password';

export const registerKey: RegisterCommand = (program, run) => {
  const key = program.command('key').description('manage the key files (passwords) that open the repository');
  key
    .command('list')
    .description('list key files; * marks the one that opened the repository')
    .action(
      run(async (ctx: CliContext) => {
        const repo = await ctx.openRepository();
        const keys = await listKeys(repo.backend);
        if (ctx.output.json) {
          for (const k of keys) ctx.output.line({ type: 'result', op: 'key list', key: k, current: k.id === repo.keyId });
          return;
        }
        printTable(ctx, [' ', 'id', 'created', 'host', 'user'], keys.map((k) => [k.id === repo.keyId ? '*' : ' ', k.id.slice(0, 8), k.created, k.host, k.username]));
      }),
    );
  key
    .command('add')
    .description('add a key file for another password (from --new-password-file, EBM_NEW_PASSWORD or a prompt)')
    .option('--new-password-file <file>', 'read the new password from a file')
    .action(
      run(async (ctx: CliContext, opts: { newPasswordFile?: string }) => {
        const repo = await ctx.openRepository();
        // Refused before asking for a new password: an unencrypted repository has none.
        if (!repo.encrypted) await repo.addKey('');
        const id = await repo.addKey(await newPassword(opts.newPasswordFile));
        ctx.output.info(`added key ${id.slice(0, 8)}`);
        ctx.output.line({ type: 'result', op: 'key add', id });
      }),
    );
  key
    .command('remove')
    .description('remove a key file (not the one in use, never the last)')
    .argument('<id>', 'key id or unique prefix')
    .action(
      run(async (ctx: CliContext, id: string) => {
        const repo = await ctx.openRepository();
        const removed = await removeKey(repo.backend, id, repo.keyId);
        ctx.output.info(`removed key ${String(removed).slice(0, 8)}`);
        ctx.output.line({ type: 'result', op: 'key remove', id: removed });
      }),
    );
};

async function newPassword(file?: string): Promise<string> {
  if (file) return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (process.env.EBM_NEW_PASSWORD) return process.env.EBM_NEW_PASSWORD;
  if (!process.stdin.isTTY) throw new EbmError('E_NO_PASSWORD', 'no new password: pass --new-password-file FILE or set EBM_NEW_PASSWORD');
  const a = await promptHidden('new password: ');
  const b = await promptHidden('enter the new password again: ');
  if (a !== b) throw new EbmError('E_USAGE', 'the passwords do not match');
  if (a === '') throw new EbmError('E_USAGE', 'an empty password is not allowed');
  return a;
}

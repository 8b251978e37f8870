#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { EbmError } from '@ebm/sdk';
import { CliContext, GlobalOptions } from './cli-context';
import { Output } from './output';
import type { CommandBody } from './command-types';
import { registerInit } from './commands/init';
import { registerBackup } from './commands/backup';
import { registerSnapshots } from './commands/snapshots';
import { registerLs } from './commands/ls';
import { registerRestore } from './commands/restore';
import { registerCheck } from './commands/check';
import { registerForget, registerPrune } from './commands/forget-prune';
import { registerKey } from './commands/key';
import { registerUnlock } from './commands/unlock';
import { registerPlugins } from './commands/plugins';
import { registerPluginInit } from './commands/plugin-init';
import { registerDemo } from './commands/demo';
import { registerServe } from './commands/serve';
import { registerJobs } from './commands/jobs';
import { registerCatalog } from './commands/catalog';
import { registerFind } from './commands/find';
import { registerExportImport } from './commands/export-import';
import { registerDiscover } from './commands/discover';
import { registerSynthesize } from './commands/synthesize';
import { registerRebase } from './commands/rebase';

/** Runs one command and resolves with its exit code (see README, "Exit codes"). */


export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('ebm');
  program
    .description('ebm — extensible backup manager: deduplicated, encrypted, verifiable backups through translator plugins')
    .version(require('../../package.json').version as string)
    .option('-r, --repo <dir>', 'repository location (or EBM_REPOSITORY)')
    .option('--password-file <file>', 'read the repository password from a file (or EBM_PASSWORD / EBM_PASSWORD_FILE)')
    .option('--json', 'machine-readable output: one JSON object per line (progress, warnings, results, errors)')
    .option('-q, --quiet', 'print only results and errors')
    .showHelpAfterError()
    .exitOverride();

  /** Wraps a command body: builds the context, maps errors to exit codes, always cleans up. */
  const run = (body: CommandBody) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const ctx = new CliContext(cmd.optsWithGlobals() as GlobalOptions);
      try {
        setExitCode((await body(ctx, ...args)) ?? 0);
      } catch (err) {
        setExitCode(ctx.output.error(err));
      } finally {
        await ctx.close().catch(() => undefined);
      }
    };

  for (const register of [registerInit, registerBackup, registerSnapshots, registerLs, registerRestore, registerCheck, registerForget, registerPrune, registerKey, registerUnlock, registerPlugins, registerPluginInit, registerDemo, registerServe, registerJobs, registerCatalog, registerFind, registerExportImport, registerDiscover, registerSynthesize, registerRebase]) {
    register(program, run);
  }
  return program;
}



export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      const json = argv.includes('--json');
      return new Output(json, false).error(new EbmError('E_USAGE', err.message.replace(/^error: /, '')));
    }
    return new Output(argv.includes('--json'), false).error(err);
  }
  return exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`ebm: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

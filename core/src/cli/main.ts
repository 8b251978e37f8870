#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { EbmError } from '@ebm/sdk';
import { CliContext, GlobalOptions } from './cli-context';
import { Output } from './output';
import type { CommandBody } from './command-types';
import type { RegisterCommand } from './command-types';
import { applyYoungGenerationLimits } from '../plugin-host/worker-heap';

/**
 * Where each top-level command is declared. Commands are loaded on demand:
 * a run of `ebm backup` requires only the backup command's modules, not the
 * host runtime, the HTTP API or the configuration schema (about 150 ms of
 * start-up, which every short job and every endpoint of a fleet pays).
 * Help without a command loads them all.
 */
const COMMAND_MODULES: Readonly<Record<string, () => readonly RegisterCommand[]>> = {
  init: () => [require('./commands/init').registerInit],
  backup: () => [require('./commands/backup').registerBackup],
  snapshots: () => [require('./commands/snapshots').registerSnapshots],
  ls: () => [require('./commands/ls').registerLs],
  restore: () => [require('./commands/restore').registerRestore],
  check: () => [require('./commands/check').registerCheck],
  forget: () => [require('./commands/forget-prune').registerForget],
  prune: () => [require('./commands/forget-prune').registerPrune],
  key: () => [require('./commands/key').registerKey],
  unlock: () => [require('./commands/unlock').registerUnlock],
  plugins: () => [require('./commands/plugins').registerPlugins],
  plugin: () => [require('./commands/plugin-init').registerPluginInit],
  demo: () => [require('./commands/demo').registerDemo],
  serve: () => [require('./commands/serve').registerServe],
  jobs: () => [require('./commands/jobs').registerJobs],
  run: () => [],
  verify: () => [],
  cancel: () => [],
  catalog: () => [require('./commands/catalog').registerCatalog],
  find: () => [require('./commands/find').registerFind],
  export: () => [require('./commands/export-import').registerExportImport],
  import: () => [],
  discover: () => [require('./commands/discover').registerDiscover],
  synthesize: () => [require('./commands/synthesize').registerSynthesize],
  rebase: () => [require('./commands/rebase').registerRebase],
};

/** Commands declared by another command's module (one register function declares several). */
const DECLARED_WITH: Readonly<Record<string, string>> = { run: 'jobs', verify: 'jobs', cancel: 'jobs', import: 'export' };

/** Global options that take a value (their value is not a command name). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-r', '--repo', '--password-file']);

/** The command named on the command line, or undefined (help, version, or an unknown word). */
export function commandNamed(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return Object.prototype.hasOwnProperty.call(COMMAND_MODULES, arg) ? arg : undefined;
  }
  return undefined;
}

function registersFor(command: string | undefined): readonly RegisterCommand[] {
  if (command === '') return [];
  if (command === undefined) return Object.values(COMMAND_MODULES).flatMap((load) => load());
  return COMMAND_MODULES[DECLARED_WITH[command] ?? command]!();
}

/** Builds the program; with `command`, only that command is declared (see COMMAND_MODULES). */
export function buildProgram(setExitCode: (code: number) => void, command?: string): Command {
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

  for (const register of new Set(registersFor(command))) register(program, run);
  return program;
}

/** Runs one command and resolves with its exit code (see README, "Exit codes"). */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const command = commandNamed(argv);
  // `ebm --version` needs no command at all; help without a command lists them all.
  const versionOnly = command === undefined && argv.some((a) => a === '--version' || a === '-V') && !argv.includes('--help') && !argv.includes('-h');
  const program = buildProgram((code) => (exitCode = code), versionOnly ? '' : command);
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
  // First: the young generation grows while a command opens its repository (index files), before any plugin host exists.
  applyYoungGenerationLimits();
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

import type { Command } from 'commander';
import type { CliContext } from './cli-context';

/**
 * A command body: receives the context, then commander's positional arguments
 * and options, and returns the exit code (0 when it returns nothing).
 * (Method syntax keeps parameters bivariant, so bodies can type their own args.)
 */
export type CommandBody = { body(ctx: CliContext, ...args: unknown[]): Promise<number | void> }['body'];

export type RunWrapper = (body: CommandBody) => (...args: unknown[]) => Promise<void>;

export type RegisterCommand = (program: Command, run: RunWrapper) => void;

/** Exit codes besides the error catalogue's: documented in the README. */
export const EXIT_OK = 0;
export const EXIT_SAVED_WITH_WARNINGS = 3;

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

import type { ErrorCode } from '../../errors/catalogue';
import type { ErrorRecord } from '../../errors/ebm-error';
import type { CaseRun } from '../case-run';
import { CheckFailed } from '../conformance-failure';
import { runBounded } from '../tasks';
import type { InvalidSource, TranslatorFixture } from '../tester-options';
import type { DerivedInvalidInput } from './invalid-variants';
import { expectErrorSurvives } from './structured-clone';

/** Codes that are not a plugin's answer to bad input, with what they mean. */
const NOT_AN_ANSWER: Partial<Record<ErrorCode, string>> = {
  E_PLUGIN_FAILED: 'the plugin threw an untyped error',
  E_INTERNAL: 'an internal error escaped',
  E_PLUGIN_CRASHED: "the plugin's worker crashed",
  E_PLUGIN_OUT_OF_MEMORY: "the plugin's worker ran out of memory",
  E_PLUGIN_TIMEOUT: 'the plugin stopped answering',
  E_PLUGIN_LOAD: 'the plugin could not be loaded',
  E_PROTOCOL: 'the plugin broke the protocol',
  E_CANCELLED: 'the task was cancelled though nobody cancelled it',
};

/** An invalid source derived from a fixture (missing, truncated, corrupted…): built once, backed up in both modes. */
export async function derivedInvalidCase(run: CaseRun, fixture: TranslatorFixture, variant: DerivedInvalidInput): Promise<void> {
  const built = await run.build(fixture);
  const source = await variant.make(built, run.dirs);
  await invalidBackups(run, { source, options: fixture.options ?? {}, mustFail: variant.mustFail, expect: [] });
}

/** An invalid source the author supplied: it must fail, with one of the expected codes if given. */
export async function authoredInvalidCase(run: CaseRun, invalid: InvalidSource): Promise<void> {
  const dir = await run.dirs.make('invalid');
  const returned = await invalid.build(dir);
  const expect = invalid.expect === undefined ? [] : typeof invalid.expect === 'string' ? [invalid.expect] : [...invalid.expect];
  await invalidBackups(run, { source: typeof returned === 'string' ? returned : dir, options: invalid.options ?? {}, mustFail: true, expect });
}

interface InvalidSpec {
  readonly source: string;
  readonly options: NonNullable<TranslatorFixture['options']>;
  readonly mustFail: boolean;
  readonly expect: readonly ErrorCode[];
}

async function invalidBackups(run: CaseRun, spec: InvalidSpec): Promise<void> {
  const bound = run.options.timeouts.invalidInputMs;
  await run.eachMode(async (mode) => {
    const repo = await run.repository();
    const outcome = await runBounded(repo, { op: 'backup', request: { source: spec.source, options: spec.options } }, mode, bound, `the backup of ${spec.source}`);
    if (outcome.result.ok) {
      if (spec.mustFail) throw new CheckFailed(`the backup of ${spec.source} succeeded; it must fail with a typed error${spec.expect.length > 0 ? ` (${spec.expect.join(' or ')})` : ' such as E_SOURCE_NOT_FOUND or E_INVALID_SOURCE'}`);
      return { outcome: 'ok' };
    }
    const error = outcome.result.error;
    checkTypedError(error, spec.expect);
    expectErrorSurvives(error, `the error record (${error.code})`);
    if (error.plugin === undefined || error.op === undefined) throw new CheckFailed(`the error record (${error.code}) does not name its plugin and operation`);
    return { outcome: error.code };
  });
}

function checkTypedError(error: ErrorRecord, expect: readonly ErrorCode[]): void {
  const wrong = NOT_AN_ANSWER[error.code];
  if (wrong !== undefined) {
    throw new CheckFailed(`${wrong} (${error.code}: ${error.message}); refuse bad input with an EbmError whose code says what is wrong, such as E_INVALID_SOURCE or E_SOURCE_NOT_FOUND`);
  }
  if (expect.length > 0 && !expect.includes(error.code)) throw new CheckFailed(`the backup failed with ${error.code} (${error.message}); expected ${expect.join(' or ')}`);
  if (error.message.trim() === '') throw new CheckFailed(`the error ${error.code} has an empty message; name the thing at fault`);
}

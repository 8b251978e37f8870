import type { Mode } from './harness-host';

/**
 * A conformance case failed. The message names the case, the fixture and,
 * for each problem, the mode it showed in (in-process, worker, or both
 * disagreeing), so the author sees at once what to fix.
 */
export class ConformanceFailure extends Error {
  readonly case: string;
  readonly fixture: string | undefined;
  readonly problems: readonly string[];

  constructor(caseName: string, fixture: string | undefined, problems: readonly string[]) {
    const where = fixture === undefined ? `conformance case "${caseName}"` : `conformance case "${caseName}", fixture "${fixture}"`;
    super(`${where} failed:\n${problems.map((p) => `  - ${indent(p)}`).join('\n')}`);
    this.name = 'ConformanceFailure';
    this.case = caseName;
    this.fixture = fixture;
    this.problems = Object.freeze([...problems]);
  }
}

/** A check found a problem: thrown inside one mode, collected by the case. */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

/** How a mode is named in failures. */
export function modeLabel(mode: Mode, hostLabel: string): string {
  return mode === 'in-process' ? 'in-process' : `worker (${hostLabel})`;
}

function indent(text: string): string {
  return text.replace(/\n/g, '\n    ');
}

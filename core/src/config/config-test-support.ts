import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatConfigProblem } from './config-problem';
import { loadHostConfig } from './load-config';

/** Test helpers: write configuration text to a real file in a temp dir and load it. */

let dir: string | undefined;

export function configTempDir(): string {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-config-'));
  return dir;
}

export function removeConfigTempDir(): void {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/** Writes `text` as `name` (text lines joined with "\n" when given as a list). */
export function writeConfig(name: string, text: string | readonly string[]): string {
  const file = path.join(configTempDir(), name);
  fs.writeFileSync(file, typeof text === 'string' ? text : `${text.join('\n')}\n`);
  return file;
}

/** Loads a configuration that must fail; returns its problems as `name:line:col: path: message`. */
export function problemsOf(name: string, text: string | readonly string[]): string[] {
  const file = writeConfig(name, text);
  try {
    loadHostConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => formatConfigProblem(name, p));
  }
  throw new Error(`${name} loaded, but it should have failed`);
}

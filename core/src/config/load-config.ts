import * as fs from 'node:fs';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import { Document, isScalar, LineCounter, parseDocument, visit, YAMLError } from 'yaml';
import { ConfigError, ConfigProblem } from './config-problem';
import type { HostConfiguration } from './config-types';
import { resolveConfig } from './resolve-config';
import { schemaProblems } from './schema-problems';
import { semanticProblems } from './semantic-checks';
import { YamlLocator } from './yaml-locator';

/**
 * Loads the host configuration of `ebm serve`: YAML or JSON, validated in
 * three stages, each stage's problems all collected before giving up:
 *   1. syntax (YAML parser; strict JSON.parse for JSON files),
 *   2. the JSON Schema (config-schema.ts) through ajv,
 *   3. semantic checks (semantic-checks.ts).
 * Stage 3 runs even when stage 2 found problems, so one run lists
 * everything; stage 2 and 3 need a syntactically valid file.
 *
 * Throws ConfigError (an EbmError, code E_USAGE until E_CONFIG exists) with
 * every problem as `file:line:column: path: message`, or EbmError E_USAGE
 * when the file cannot be read.
 */
export function loadHostConfig(file: string): HostConfiguration {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new EbmError('E_USAGE', `cannot read the configuration file ${absolute}: ${reason}`, { subject: absolute, op: 'config', cause: err });
  }
  return parseHostConfig(text, absolute);
}

export type ConfigFormat = 'yaml' | 'json';

/** By extension; for other names by content (a JSON file starts with "{"). */
export function detectConfigFormat(file: string, text: string): ConfigFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/** Parses and validates configuration text; `file` names it in messages (and picks the format by extension). */
export function parseHostConfig(text: string, file: string): HostConfiguration {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const locator = new YamlLocator(doc, lines);

  const format = detectConfigFormat(file, text) === 'json' ? 'JSON' : 'YAML';
  const syntax: ConfigProblem[] = doc.errors.map((e) => locator.problemAt(syntaxErrorOffset(doc, e), `${format} syntax error: ${e.message}`));
  if (syntax.length === 0 && detectConfigFormat(file, text) === 'json') {
    const strict = strictJsonProblem(text, locator);
    if (strict !== undefined) syntax.push(strict);
  }
  if (syntax.length > 0) throw new ConfigError(file, syntax);

  if (doc.contents === null) {
    throw new ConfigError(file, [locator.problemAt(0, 'the file is empty; it must declare at least `repositories` and `datasets`')]);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  const problems = [...schemaProblems(value, locator), ...semanticProblems(value, locator)];
  if (problems.length > 0) throw new ConfigError(file, problems);
  return resolveConfig(value, file);
}

/**
 * The parser reports an unclosed quote where it gave up (often the end of
 * the file); the operator needs the place where the string began.
 */
function syntaxErrorOffset(doc: Document, error: YAMLError): number {
  const offset = error.pos[0];
  if (error.code !== 'MISSING_CHAR') return offset;
  let start = offset;
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && node.range?.[1] === offset && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) {
        start = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return start;
}

/** YAML accepts more than JSON does (comments, unquoted keys, trailing commas in places); a .json file must be JSON. */
function strictJsonProblem(text: string, locator: YamlLocator): ConfigProblem | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    const message = (err as Error).message;
    const position = /position (\d+)/.exec(message);
    return locator.problemAt(position ? Number(position[1]) : 0, `JSON syntax error: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import type { ConfigPath, ConfigProblem } from './config-problem';
import { closestName } from './config-problem';
import { HOST_CONFIG_SCHEMA } from './config-schema';
import type { YamlLocator } from './yaml-locator';

/**
 * Runs the JSON Schema over the loaded value and turns each ajv error into a
 * sentence at its place in the file. ajv collects all errors (allErrors) and
 * hands back the offending data and schema (verbose) so messages can quote
 * the value and the rule.
 */

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false });
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
    compiled = ajv.compile(HOST_CONFIG_SCHEMA);
  }
  return compiled;
}

export function schemaProblems(value: unknown, locator: YamlLocator): ConfigProblem[] {
  const validate = validator();
  if (validate(value)) return [];
  const problems: ConfigProblem[] = [];
  for (const error of validate.errors ?? []) {
    const problem = explain(error, locator);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

function explain(error: ErrorObject, locator: YamlLocator): ConfigProblem | undefined {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const hint = (error.parentSchema as Record<string, unknown> | undefined)?.['x-hint'];
  // An error about a key name (propertyNames) carries the name; ajv also adds
  // a summary error without it, which says nothing more.
  if (error.keyword === 'propertyNames') return undefined;
  if (error.propertyName !== undefined) {
    return locator.problem([...path, error.propertyName], `"${error.propertyName}" is not a valid name: ${typeof hint === 'string' ? hint : error.message ?? 'invalid'}`, 'key');
  }
  switch (error.keyword) {
    case 'type':
      return locator.problem(path, `expected ${expected(params['type'])}, got ${describe(error.data)}`);
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const allowed = Object.keys(((error.parentSchema as Record<string, unknown>)['properties'] ?? {}) as object);
      const guess = closestName(key, allowed);
      const suggestion = guess === undefined ? '' : `; did you mean "${guess}"?`;
      return locator.problem([...path, key], `unknown key "${key}"${suggestion} (allowed here: ${allowed.join(', ')})`, 'key');
    }
    case 'required':
      return locator.problem(path, `missing required key "${String(params['missingProperty'])}"`, 'key');
    case 'enum':
      return locator.problem(path, `${describe(error.data)} is not one of: ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`);
    case 'minimum':
      return locator.problem(path, `must be at least ${String(params['limit'])}, got ${describe(error.data)}`);
    case 'maximum':
      return locator.problem(path, `must be at most ${String(params['limit'])}, got ${describe(error.data)}`);
    case 'minLength':
    case 'minItems':
      return locator.problem(path, 'must not be empty');
    case 'uniqueItems':
      return locator.problem(path, `lists ${describe((error.data as unknown[])[params['j'] as number])} twice`);
    case 'pattern':
      return locator.problem(path, `${describe(error.data)} ${typeof hint === 'string' ? hint : `does not match ${String(params['pattern'])}`}`);
    default:
      return locator.problem(path, error.message ?? `fails the schema rule ${error.keyword}`);
  }
}

/** "/datasets/home/tags/1" → ['datasets', 'home', 'tags', 1] (JSON Pointer, RFC 6901). */
export function pointerToPath(pointer: string): ConfigPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  null: 'nothing',
};

function expected(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

/** How a value reads in a message: strings quoted, structures by kind. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (an empty value)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

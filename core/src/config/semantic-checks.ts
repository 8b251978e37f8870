import { explainBadCron, explainBadTimezone } from '../scheduler/cron-schedule';
import type { ConfigProblem } from './config-problem';
import { closestName } from './config-problem';
import { parseDuration } from './duration';
import type { YamlLocator } from './yaml-locator';

/**
 * The rules a JSON Schema cannot state: cron expressions and time zones that
 * parse, references between sections, exactly-one-of pairs, relations
 * between values. Each check looks only at values of the right type, so a
 * value the schema already rejected is not reported twice.
 */

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): [string, Obj][] => (isObj(v) ? Object.entries(v).filter((e): e is [string, Obj] => isObj(e[1])) : []);

export function semanticProblems(root: unknown, locator: YamlLocator): ConfigProblem[] {
  if (!isObj(root)) return [];
  const problems: ConfigProblem[] = [];
  const repositories = isObj(root['repositories']) ? root['repositories'] : {};
  checkRepositories(repositories, locator, problems);
  for (const [name, dataset] of entries(root['datasets'])) checkDataset(name, dataset, Object.keys(repositories), locator, problems);
  checkApi(root['api'], locator, problems);
  return problems;
}

function checkRepositories(repositories: Obj, locator: YamlLocator, problems: ConfigProblem[]): void {
  const byPath = new Map<string, string>();
  for (const [name, repo] of entries(repositories)) {
    const hasEnv = repo['passwordEnv'] !== undefined;
    const hasFile = repo['passwordFile'] !== undefined;
    if (repo['encryption'] === 'none') {
      if (hasEnv || hasFile) problems.push(locator.problem(['repositories', name, hasEnv ? 'passwordEnv' : 'passwordFile'], 'an unencrypted repository (encryption: none) has no password; remove this, or drop `encryption: none`', 'key'));
    } else if (!hasEnv && !hasFile) {
      problems.push(locator.problem(['repositories', name], 'no password source: give passwordEnv (an environment variable holding the password) or passwordFile (a file holding it)', 'key'));
    } else if (hasEnv && hasFile) {
      problems.push(locator.problem(['repositories', name, 'passwordFile'], 'give only one of passwordEnv and passwordFile', 'key'));
    }
    const path = repo['path'];
    if (typeof path === 'string') {
      const other = byPath.get(path);
      if (other !== undefined) problems.push(locator.problem(['repositories', name, 'path'], `"${path}" is already the path of repository "${other}"; give each repository its own directory`));
      else byPath.set(path, name);
    }
  }
}

function checkDataset(name: string, dataset: Obj, repositoryNames: readonly string[], locator: YamlLocator, problems: ConfigProblem[]): void {
  const at = (...rest: string[]) => ['datasets', name, ...rest];
  const repository = dataset['repository'];
  if (typeof repository === 'string' && repository !== '' && !repositoryNames.includes(repository)) {
    const guess = closestName(repository, repositoryNames);
    const defined = repositoryNames.length === 0 ? 'none are defined' : `defined: ${repositoryNames.join(', ')}`;
    problems.push(locator.problem(at('repository'), `no repository named "${repository}" in repositories (${defined})${guess === undefined ? '' : `; did you mean "${guess}"?`}`));
  }
  const layered = dataset['provider'] !== undefined;
  const translator = layered ? dataset['provider'] : dataset['translator'] ?? 'filesystem';
  checkLayered(dataset, at, locator, problems);
  const source = dataset['source'];
  if (!layered && translator === 'filesystem' && typeof source === 'string' && source !== '' && !source.startsWith('/')) {
    problems.push(locator.problem(at('source'), `"${source}" must be an absolute path (starting with "/") for the filesystem translator`));
  }
  if (isObj(dataset['journal']) && dataset['journal']['enabled'] !== false && (layered || translator !== 'filesystem')) {
    problems.push(locator.problem(at('journal'), `a change journal watches a directory tree: it applies to the filesystem translator, not "${String(translator)}" (remove journal, or set enabled: false)`));
  }
  const schedule = dataset['schedule'];
  if (typeof schedule === 'string') {
    const why = explainBadCron(schedule);
    if (why !== undefined) problems.push(locator.problem(at('schedule'), why));
  }
  const timezone = dataset['timezone'];
  if (typeof timezone === 'string') {
    const why = explainBadTimezone(timezone);
    if (why !== undefined) problems.push(locator.problem(at('timezone'), why));
  }
  const deadline = typeof dataset['deadline'] === 'string' ? parseDuration(dataset['deadline']) : undefined;
  if (deadline === 0) problems.push(locator.problem(at('deadline'), 'must be longer than 0 (leave it out for no deadline)'));
  const retry = dataset['retry'];
  if (isObj(retry)) {
    const backoff = typeof retry['backoff'] === 'string' ? parseDuration(retry['backoff']) : undefined;
    const maxBackoff = typeof retry['maxBackoff'] === 'string' ? parseDuration(retry['maxBackoff']) : undefined;
    if (backoff !== undefined && maxBackoff !== undefined && maxBackoff < backoff) {
      problems.push(locator.problem(at('retry', 'maxBackoff'), `"${String(retry['maxBackoff'])}" is shorter than backoff "${String(retry['backoff'])}"`));
    }
  }
}

/** provider XOR translator; layers and endpoint only with a provider. */
function checkLayered(dataset: Obj, at: (...rest: string[]) => string[], locator: YamlLocator, problems: ConfigProblem[]): void {
  if (dataset['provider'] !== undefined) {
    if (dataset['translator'] !== undefined) problems.push(locator.problem(at('translator'), 'give either provider (a layered endpoint, backed up layer by layer) or translator, not both', 'key'));
    return;
  }
  for (const key of ['layers', 'endpoint', 'baseSnapshot']) {
    if (dataset[key] !== undefined) problems.push(locator.problem(at(key), `${key} applies to layered endpoints only: add provider (e.g. provider: overlay), or remove ${key}`, 'key'));
  }
}

function checkApi(api: unknown, locator: YamlLocator, problems: ConfigProblem[]): void {
  if (!isObj(api)) return;
  if (api['tokenEnv'] !== undefined && api['tokenFile'] !== undefined) {
    problems.push(locator.problem(['api', 'tokenFile'], 'give only one of tokenEnv and tokenFile', 'key'));
  }
  const listen = api['listen'];
  if (typeof listen === 'string') {
    const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
    if (Number.isInteger(port) && port > 65535) problems.push(locator.problem(['api', 'listen'], `port ${port} is out of range (0-65535)`));
  }
}

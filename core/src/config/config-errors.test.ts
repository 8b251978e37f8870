import * as path from 'node:path';
import { isEbmError } from '@ebm/sdk';
import { PRIORITY_MAX, PRIORITY_MIN, validateRequest } from '../controller/validate-request';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import { ConfigError } from './config-problem';
import { problemsOf, removeConfigTempDir, writeConfig } from './config-test-support';
import { loadHostConfig } from './load-config';

afterAll(removeConfigTempDir);

/** A valid head; each test appends or edits lines after it, so line numbers are easy to read off. */
const HEAD = [
  'repositories:', //            1
  '  main:', //                  2
  '    path: /srv/repo', //      3
  '    passwordEnv: EBM_PASSWORD', // 4
  'datasets:', //                5
  '  home:', //                  6
  '    source: /home', //        7
  '    repository: main', //     8
];

describe('configuration errors name their place in the file', () => {
  it('a value of the wrong type', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    priority: high', 'budgets:', '  workers: two', '  memoryMiB: 1.5'])).toEqual([
      'c.yaml:9:15: datasets.home.priority: expected a whole number, got "high"',
      'c.yaml:11:12: budgets.workers: expected a whole number, got "two"',
      'c.yaml:12:14: budgets.memoryMiB: expected a whole number, got 1.5',
    ]);
  });

  it('a plugin worker GC floor below zero; 0 (V8 defaults) loads', () => {
    expect(problemsOf('g.yaml', [...HEAD, 'plugins:', '  workerGcFloorMiB: -1'])).toEqual([expect.stringMatching(/^g\.yaml:10:21: plugins\.workerGcFloorMiB: .*0/)]);
    expect(loadHostConfig(writeConfig('g0.yaml', [...HEAD, 'plugins:', '  workerGcFloorMiB: 0'])).plugins.workerGcFloorMiB).toBe(0);
  });

  it('an unknown key, with a suggestion for a typo', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    retension: { keepDaily: 7 }', '    colour: blue'])).toEqual([
      expect.stringMatching(/^c\.yaml:9:5: datasets\.home\.retension: unknown key "retension"; did you mean "retention"\? \(allowed here: translator, source, /),
      expect.stringMatching(/^c\.yaml:10:5: datasets\.home\.colour: unknown key "colour" \(allowed here: /),
    ]);
  });

  it('an unknown retention key', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    retention: { keepDaily: 7, keepDialy: 3, keepWeekly: -2 }'])).toEqual([
      expect.stringMatching(/^c\.yaml:9:32: datasets\.home\.retention\.keepDialy: unknown key "keepDialy"; did you mean "keepDaily"\?/),
      'c.yaml:9:58: datasets.home.retention.keepWeekly: must be at least -1, got -2',
    ]);
  });

  it('a cron expression with the wrong number of fields, or a value out of range', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    schedule: "0 2 * *"'])).toEqual([
      'c.yaml:9:15: datasets.home.schedule: "0 2 * *" is not a valid cron expression (5 or 6 fields: [second] minute hour day-of-month month day-of-week; got 4)',
    ]);
    expect(problemsOf('c.yaml', [...HEAD, '    schedule: 61 2 * * *'])).toEqual([
      expect.stringMatching(/^c\.yaml:9:15: datasets\.home\.schedule: "61 2 \* \* \*" is not a valid cron expression \(.*61.*0-59.*\)$/),
    ]);
    expect(problemsOf('c.yaml', [...HEAD, '    schedule: "@dayly"', '    timezone: Mars/Olympus'])).toEqual([
      expect.stringMatching(/^c\.yaml:9:15: datasets\.home\.schedule: "@dayly" is not a valid cron expression \(known names: .*@daily/),
      'c.yaml:10:15: datasets.home.timezone: "Mars/Olympus" is not a known time zone (use an IANA name like "UTC" or "Europe/Berlin")',
    ]);
  });

  it('encryption: an unknown value, and a password given for an unencrypted repository', () => {
    expect(problemsOf('c.yaml', [...HEAD.slice(0, 4), '    encryption: rot13', ...HEAD.slice(4)])).toEqual([
      'c.yaml:5:17: repositories.main.encryption: "rot13" is not one of: "aes-256-gcm", "none"',
    ]);
    expect(problemsOf('c.yaml', [...HEAD.slice(0, 4), '    encryption: none', ...HEAD.slice(4)])).toEqual([
      'c.yaml:4:5: repositories.main.passwordEnv: an unencrypted repository (encryption: none) has no password; remove this, or drop `encryption: none`',
    ]);
    expect(() => loadHostConfig(writeConfig('ok.yaml', [...HEAD.slice(0, 3), '    encryption: none', ...HEAD.slice(4)]))).not.toThrow();
  });

  it('a dataset priority outside the range the controller accepts is refused at load; the boundaries load and pass the controller', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    priority: 500'])).toEqual(['c.yaml:9:15: datasets.home.priority: must be at most 100, got 500']);
    expect(problemsOf('c.yaml', [...HEAD, '    priority: -101'])).toEqual(['c.yaml:9:15: datasets.home.priority: must be at least -100, got -101']);
    for (const priority of [PRIORITY_MAX, PRIORITY_MIN]) {
      const config = loadHostConfig(writeConfig(`p${priority}.yaml`, [...HEAD, `    priority: ${priority}`]));
      const home = config.datasets['home']!;
      expect(home.priority).toBe(priority);
      // What the scheduler and the API submit for this dataset: the controller must accept the priority the configuration accepted.
      const plugins = PluginRegistry.discover({ dirs: [path.resolve(__dirname, '../../test-fixtures/plugins')], pluginPath: '' });
      const request = validateRequest({ kind: 'backup', dataset: 'home', repository: 'main', source: home.source, priority: home.priority }, { repositories: ['main'], plugins });
      expect(request.priority).toBe(priority);
    }
  });

  it('a dataset naming a repository that does not exist', () => {
    const lines = [...HEAD.slice(0, 7), '    repository: mian'];
    expect(problemsOf('c.yaml', lines)).toEqual(['c.yaml:8:17: datasets.home.repository: no repository named "mian" in repositories (defined: main); did you mean "main"?']);
  });

  it('relative paths', () => {
    const lines = [...HEAD.slice(0, 2), '    path: srv/repo', HEAD[3]!, ...HEAD.slice(4, 6), '    source: home', HEAD[7]!, 'state: { dir: var/lib/ebm }'];
    expect(problemsOf('c.yaml', lines)).toEqual([
      'c.yaml:3:11: repositories.main.path: "srv/repo" must be an absolute path (starting with "/")',
      'c.yaml:7:13: datasets.home.source: "home" must be an absolute path (starting with "/") for the filesystem translator',
      'c.yaml:9:15: state.dir: "var/lib/ebm" must be an absolute path (starting with "/")',
    ]);
  });

  it('bad durations', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    deadline: 5 minutes', '    retry: { attempts: 0, backoff: 30 }', 'shutdown: { grace: 0s }'])).toEqual([
      'c.yaml:9:15: datasets.home.deadline: "5 minutes" is not a duration (a number and a unit ms, s, m, h or d, e.g. "30s", "5m", "2h", "1h30m")',
      'c.yaml:10:24: datasets.home.retry.attempts: must be at least 1, got 0',
      'c.yaml:10:36: datasets.home.retry.backoff: expected a string, got 30',
    ]);
    expect(problemsOf('c.yaml', [...HEAD, '    deadline: 0s', '    retry: { backoff: 5m, maxBackoff: 1m }'])).toEqual([
      'c.yaml:9:15: datasets.home.deadline: must be longer than 0 (leave it out for no deadline)',
      'c.yaml:10:39: datasets.home.retry.maxBackoff: "1m" is shorter than backoff "5m"',
    ]);
  });

  it('a YAML syntax error', () => {
    expect(problemsOf('c.yaml', [...HEAD, '    schedule: "0 2 * * *', '    tags: [nightly]'])).toEqual([
      expect.stringMatching(/^c\.yaml:9:15: YAML syntax error: Missing closing "quote/),
    ]);
    expect(problemsOf('c.yaml', ['repositories:', '  main: {path: /a', 'datasets: x: y'])).toEqual([
      expect.stringMatching(/^c\.yaml:3:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a \}/),
      expect.stringMatching(/^c\.yaml:3:11: YAML syntax error: Nested mappings are not allowed in compact mappings/),
    ]);
    expect(problemsOf('c.yaml', [...HEAD, 'datasets: {}'])).toEqual(['c.yaml:9:1: YAML syntax error: Map keys must be unique']);
  });

  it('JSON: syntax errors by strict JSON rules, schema errors with positions', () => {
    expect(problemsOf('c.json', ['{', '  "repositories": {},', '  "datasets": {},', '}'])).toEqual(['c.json:4:1: JSON syntax error: Expected double-quoted property name']);
    const json = ['{', '  "repositories": { "main": { "path": "/r", "passwordFile": "/p", "verify": "yes" } },', '  "datasets": { "home": { "source": "/home", "repository": "main" } }', '}'];
    expect(problemsOf('c.json', json)).toEqual(['c.json:2:77: repositories.main.verify: expected true or false, got "yes"']);
  });

  it('missing keys, password sources and bad names', () => {
    const lines = ['repositories:', '  main: { path: /r }', '  both: { path: /b, passwordEnv: A, passwordFile: /f }', 'datasets:', '  home: { repository: main }', '  "my home": { source: /h, repository: main }'];
    expect(problemsOf('c.yaml', lines)).toEqual([
      'c.yaml:2:3: repositories.main: no password source: give passwordEnv (an environment variable holding the password) or passwordFile (a file holding it)',
      'c.yaml:3:37: repositories.both.passwordFile: give only one of passwordEnv and passwordFile',
      'c.yaml:5:3: datasets.home: missing required key "source"',
      'c.yaml:6:3: datasets["my home"]: "my home" is not a valid name: must start with a letter or digit and contain only letters, digits, ".", "_" and "-" (at most 64)',
    ]);
    expect(problemsOf('c.yaml', ['datasets: {}'])).toEqual(['c.yaml:1:1: (top level): missing required key "repositories"']);
    expect(problemsOf('c.yaml', ['# nothing here'])).toEqual(['c.yaml:1:1: the file is empty; it must declare at least `repositories` and `datasets`']);
  });

  it('lists every problem in one EbmError, in file order, with the full path of the file', () => {
    const file = writeConfig('many.yaml', [...HEAD, '    schedule: "0 2 * *"', '    priority: high', 'log: { level: verbose }', 'api: { listen: "127.0.0.1:99999" }']);
    let error: unknown;
    try {
      loadHostConfig(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(isEbmError(error)).toBe(true);
    const e = error as ConfigError;
    expect(e.code).toBe('E_CONFIG');
    expect(e.exitCode).toBe(2);
    expect(e.subject).toBe(file);
    expect(e.message.split('\n')).toEqual([
      `invalid configuration ${file} (4 problems):`,
      `  ${file}:9:15: datasets.home.schedule: "0 2 * *" is not a valid cron expression (5 or 6 fields: [second] minute hour day-of-month month day-of-week; got 4)`,
      `  ${file}:10:15: datasets.home.priority: expected a whole number, got "high"`,
      `  ${file}:11:15: log.level: "verbose" is not one of: "debug", "info", "warn", "error"`,
      `  ${file}:12:16: api.listen: port 99999 is out of range (0-65535)`,
    ]);
  });

  it('a file that does not exist', () => {
    expect(() => loadHostConfig('/nonexistent/ebm.config.yaml')).toThrow(expect.objectContaining({ code: 'E_USAGE', message: 'cannot read the configuration file /nonexistent/ebm.config.yaml: no such file' }));
  });
});

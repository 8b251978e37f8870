import * as path from 'node:path';
import { removeConfigTempDir, writeConfig } from './config-test-support';
import { formatDuration, parseDuration } from './duration';
import { detectConfigFormat, loadHostConfig } from './load-config';
import { defaultStateDir } from './resolve-config';

afterAll(removeConfigTempDir);

const EXAMPLES = path.resolve(__dirname, '../../../examples');

describe('loading the host configuration', () => {
  it('loads the example configuration, and its JSON twin to the same result', () => {
    const yaml = loadHostConfig(path.join(EXAMPLES, 'ebm.config.yaml'));
    const json = loadHostConfig(path.join(EXAMPLES, 'ebm.config.json'));
    expect(yaml.configFile).toBe(path.join(EXAMPLES, 'ebm.config.yaml'));
    expect({ ...json, configFile: '' }).toEqual({ ...yaml, configFile: '' });

    expect(Object.keys(yaml.datasets)).toEqual(['home', 'etc', 'home-offsite', 'scratch']);
    expect(yaml.datasets['home']).toEqual({
      name: 'home',
      translator: 'filesystem',
      source: '/home',
      repository: 'main',
      schedule: '0 2 * * *',
      retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 },
      options: { exclude: ['*.tmp', 'node_modules/'] },
      tags: ['nightly'],
      priority: 0,
      deadlineMs: 2 * 3600_000,
      retry: { attempts: 3, backoffMs: 30_000, maxBackoffMs: 600_000 },
      verify: true,
    });
    expect(yaml.datasets['home-offsite']!.verify).toBe(false);
    expect(yaml.datasets['scratch']!.schedule).toBeUndefined();
    expect(yaml.repositories['offsite']).toEqual({
      name: 'offsite',
      path: '/mnt/offsite/ebm',
      encryption: 'aes-256-gcm',
      passwordFile: '/etc/ebm/offsite.pass',
      compressionLevel: 3,
      maxConcurrentIo: 4,
      verify: true,
      bandwidthLimitKiBps: 20480,
    });
    expect(yaml.state).toEqual({ dir: '/var/lib/ebm', catalogFile: '/var/lib/ebm/catalog.sqlite', jobsFile: '/var/lib/ebm/jobs.jsonl', schedulerFile: '/var/lib/ebm/scheduler.json', costsFile: '/var/lib/ebm/costs.json' });
    expect(yaml.log).toEqual({ level: 'info', file: '/var/log/ebm.jsonl' });
    expect(Object.isFrozen(yaml.datasets['home']!.tags)).toBe(true);
  });

  it('applies the defaults to the smallest configuration (the one in the issue, flow style)', () => {
    const file = writeConfig('minimal.yaml', [
      'repositories: { main: { path: /srv/backup/repo, passwordEnv: EBM_PASSWORD } }',
      'datasets:',
      '  home: { translator: filesystem, source: /home, repository: main, schedule: "0 2 * * *", retention: { keepDaily: 7, keepWeekly: 4 } }',
      'budgets: { workers: 2, memoryMiB: 1024 }',
    ]);
    const config = loadHostConfig(file);
    expect(config.repositories['main']).toEqual({ name: 'main', path: '/srv/backup/repo', passwordEnv: 'EBM_PASSWORD', encryption: 'aes-256-gcm', compressionLevel: 3, maxConcurrentIo: 4, verify: true });
    expect(config.datasets['home']).toEqual({
      name: 'home',
      translator: 'filesystem',
      source: '/home',
      repository: 'main',
      schedule: '0 2 * * *',
      retention: { keepDaily: 7, keepWeekly: 4 },
      options: {},
      tags: [],
      priority: 0,
      retry: { attempts: 3, backoffMs: 30_000, maxBackoffMs: 600_000 },
      verify: true,
    });
    expect(config.budgets).toEqual({ workers: 2, memoryMiB: 1024, ioStreamsPerRepository: 2 });
    expect(config.api).toEqual({ listen: '127.0.0.1:8950', host: '127.0.0.1', port: 8950, tokenEnv: 'EBM_API_TOKEN' });
    expect(config.state.dir).toBe(defaultStateDir());
    expect(config.state.schedulerFile).toBe(path.join(defaultStateDir(), 'scheduler.json'));
    expect(config.log).toEqual({ level: 'info' });
    expect(config.plugins).toEqual({ paths: [], idleTimeoutMs: 30_000, stallTimeoutMs: 120_000, cancelGraceMs: 5_000, heapMiB: {}, workerGcFloorMiB: 0 });
    expect(config.shutdown).toEqual({ graceMs: 30_000 });
  });

  it('reads JSON from a file without a known extension, IPv6 listen addresses, token files, a long backoff', () => {
    const file = writeConfig('ebm.conf', [
      '{ "repositories": { "r": { "path": "/r", "passwordFile": "/etc/p" } },',
      '  "datasets": { "db": { "translator": "sqlite", "source": "app.db", "repository": "r", "retry": { "backoff": "20m" } } },',
      '  "api": { "listen": "[::1]:9000", "tokenFile": "/etc/ebm/token" } }',
    ]);
    const config = loadHostConfig(file);
    // Non-filesystem translators define their own source form: a relative name is theirs to judge.
    expect(config.datasets['db']).toMatchObject({ translator: 'sqlite', source: 'app.db', retry: { attempts: 3, backoffMs: 1_200_000, maxBackoffMs: 1_200_000 } });
    expect(config.api).toEqual({ listen: '[::1]:9000', host: '::1', port: 9000, tokenFile: '/etc/ebm/token' });
  });

  it('detects the format by extension, then by content', () => {
    expect(detectConfigFormat('a.json', 'x: 1')).toBe('json');
    expect(detectConfigFormat('a.YML', '{}')).toBe('yaml');
    expect(detectConfigFormat('a.conf', '  {"a": 1}')).toBe('json');
    expect(detectConfigFormat('a.conf', 'a: 1')).toBe('yaml');
  });

  it('YAML anchors and merge keys share settings between datasets', () => {
    const file = writeConfig('merge.yaml', [
      'repositories: { main: { path: /r, passwordEnv: P } }',
      'datasets:',
      '  a: &nightly { source: /a, repository: main, schedule: "0 2 * * *", tags: [nightly] }',
      '  b: { <<: *nightly, source: /b }',
    ]);
    const config = loadHostConfig(file);
    expect(config.datasets['b']).toMatchObject({ source: '/b', repository: 'main', schedule: '0 2 * * *', tags: ['nightly'] });
  });
});

describe('durations', () => {
  it('parses a number with a unit, and sums', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    for (const bad of ['30', '5 m', 'm', '', '-1s', '1w', '1h 30m']) expect(parseDuration(bad)).toBeUndefined();
  });

  it('formats back to the shortest exact form', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_061_001)).toBe('1d1h1m1s1ms');
    expect(formatDuration(0)).toBe('0s');
  });
});

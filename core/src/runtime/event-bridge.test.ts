import 'reflect-metadata';
import { HostEvents } from '../events/host-events';
import { Job } from '../jobs/job';
import { JobEvents } from '../jobs/job-events';
import type { JobRequest } from '../jobs/job-types';
import { Logger } from '../logging/logger';
import { EventBridge } from './event-bridge';

/**
 * The host's structured log (docs/runtime.md, "Structured logs"): every line
 * about a job carries `job` and `plugin`. Real Job objects go through their
 * states on real event buses; the plugin host's events are emitted as it
 * emits them.
 */
describe('EventBridge log lines', () => {
  const cost = { workers: 1, memoryMiB: 64, ioStreams: 1 };

  it('every line that has `job` has `plugin`: the translator of a backup, the one a restore starts, null for jobs without a plugin', () => {
    const lines: string[] = [];
    const jobs = new JobEvents();
    const host = new HostEvents();
    const bridge = new EventBridge(jobs, host, new Logger({ write: (l) => lines.push(l) }, 'debug'));

    const backupRequest: JobRequest = { kind: 'backup', dataset: 'home', repository: 'main', translator: 'filesystem', source: '/home', options: {}, tags: [], full: false, priority: 0, verify: true };
    const backup = new Job({ request: backupRequest, cost }, jobs);
    jobs.emit('job:queued', backup.toRecord());
    backup.transition('running');
    host.emit('job:started', { jobId: backup.id, pluginId: 'filesystem', op: 'backup' });
    host.emit('job:log', { jobId: backup.id, pluginId: 'filesystem', level: 'info', message: 'walked 10 files', fields: { files: 10 } });
    backup.log('warn', 'attempt 1 of 3 failed with E_PLUGIN_CRASHED: gone; retrying in 10 ms');
    host.emit('plugin:crashed', { pluginId: 'filesystem', jobId: backup.id, error: { code: 'E_PLUGIN_CRASHED', message: 'gone', retryable: true } });
    backup.transition('queued');
    backup.transition('running');
    backup.transition('verifying');
    backup.log('info', 'verification started (serial lane)');
    backup.transition('done');

    const restore = new Job({ request: { kind: 'restore', repository: 'main', snapshot: 'latest', target: '/tmp/r', includes: [], overwrite: false, priority: 0 }, cost }, jobs);
    jobs.emit('job:queued', restore.toRecord());
    restore.transition('running');
    host.emit('job:started', { jobId: restore.id, pluginId: 'translator-x', op: 'restore' });
    restore.log('info', 'restoring');
    restore.transition('failed', { error: { code: 'E_TARGET_NOT_EMPTY', message: 'not empty', retryable: false } });

    const prune = new Job({ request: { kind: 'prune', repository: 'main', prune: true, priority: 0 }, cost }, jobs);
    jobs.emit('job:queued', prune.toRecord());
    prune.transition('running');
    prune.log('info', 'removed 3 packs');
    prune.transition('done');
    bridge.close();

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const jobLines = parsed.filter((l) => 'job' in l);
    expect(jobLines.length).toBe(18);
    for (const line of jobLines) expect(Object.keys(line)).toEqual(expect.arrayContaining(['job', 'plugin']));

    const pluginsOf = (id: string): unknown[] => jobLines.filter((l) => l['job'] === id).map((l) => l['plugin']);
    expect(new Set(pluginsOf(backup.id))).toEqual(new Set(['filesystem']));
    expect(pluginsOf(backup.id)).toHaveLength(10);
    // A restore's translator comes from its snapshot: known once the plugin host starts it.
    expect(jobLines.filter((l) => l['job'] === restore.id).map((l) => [l['msg'], l['plugin']])).toEqual([
      ['job queued', null],
      ['job running', null],
      ['restoring', 'translator-x'],
      ['job failed', 'translator-x'],
    ]);
    expect(new Set(pluginsOf(prune.id))).toEqual(new Set([null]));
    expect(pluginsOf(prune.id)).toHaveLength(4);
    // The state lines, as documented.
    expect(jobLines.find((l) => l['job'] === backup.id && l['msg'] === 'job done')).toMatchObject({ level: 'info', kind: 'backup', dataset: 'home', plugin: 'filesystem', from: 'verifying' });
  });
});

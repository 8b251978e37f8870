import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from './clock';
import { ScheduledDataset, Scheduler, SchedulerLog, TriggerReason } from './scheduler';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-scheduler-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Fired {
  readonly dataset: string;
  readonly reason: TriggerReason;
  readonly at: string;
}

/** A scheduler on a ManualClock whose triggers are recorded with the clock's time. */
function harness(clock: ManualClock, datasets: ScheduledDataset[], stateFile = path.join(dir, 'state', 'scheduler.json')) {
  const fired: Fired[] = [];
  const warnings: string[] = [];
  const log: SchedulerLog = { info: () => undefined, warn: (message) => warnings.push(message) };
  const scheduler = new Scheduler({
    datasets,
    stateFile,
    clock,
    log,
    trigger: (dataset, reason) => {
      fired.push({ dataset: dataset.name, reason, at: new Date(clock.now()).toISOString() });
    },
  });
  return { scheduler, fired, warnings, stateFile };
}

const daily = (name: string, schedule = '0 2 * * *'): ScheduledDataset => ({ name, schedule, timezone: 'UTC' });

describe('Scheduler', () => {
  it('fires at the cron times across a day boundary (UTC), every day, without drift', async () => {
    const clock = new ManualClock('2024-03-09T22:00:00Z');
    const { scheduler, fired } = harness(clock, [daily('late', '30 23 * * *'), daily('early', '15 0 * * *')]);
    await scheduler.start();
    expect(scheduler.nextRuns().map((r) => [r.dataset, r.next])).toEqual([
      ['late', '2024-03-09T23:30:00.000Z'],
      ['early', '2024-03-10T00:15:00.000Z'],
    ]);
    clock.advance(3 * HOUR);
    expect(fired).toEqual([
      { dataset: 'late', reason: 'schedule', at: '2024-03-09T23:30:00.000Z' },
      { dataset: 'early', reason: 'schedule', at: '2024-03-10T00:15:00.000Z' },
    ]);
    clock.advance(30 * DAY);
    expect(fired).toHaveLength(2 + 60);
    expect(fired.filter((f) => f.dataset === 'late').every((f) => f.at.endsWith('T23:30:00.000Z'))).toBe(true);
    expect(fired.filter((f) => f.dataset === 'early').every((f) => f.at.endsWith('T00:15:00.000Z'))).toBe(true);
    expect(fired.slice(-2)).toEqual([
      { dataset: 'late', reason: 'schedule', at: '2024-04-08T23:30:00.000Z' },
      { dataset: 'early', reason: 'schedule', at: '2024-04-09T00:15:00.000Z' },
    ]);
    await scheduler.stop();
  });

  it('reads a schedule in the dataset time zone', async () => {
    const clock = new ManualClock('2024-06-01T00:00:00Z');
    const { scheduler, fired } = harness(clock, [{ name: 'tokyo', schedule: '0 2 * * *', timezone: 'Asia/Tokyo' }, daily('utc')]);
    await scheduler.start();
    clock.advance(DAY);
    // 02:00 in Tokyo (UTC+9, no daylight saving) is 17:00 UTC the day before.
    expect(fired).toEqual([
      { dataset: 'utc', reason: 'schedule', at: '2024-06-01T02:00:00.000Z' },
      { dataset: 'tokyo', reason: 'schedule', at: '2024-06-01T17:00:00.000Z' },
    ]);
    expect(scheduler.nextRuns().find((r) => r.dataset === 'tokyo')).toMatchObject({ timezone: 'Asia/Tokyo', next: '2024-06-02T17:00:00.000Z' });
    await scheduler.stop();
  });

  it('interleaves two datasets in time order', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const { scheduler, fired } = harness(clock, [daily('a', '*/10 * * * *'), daily('b', '5,25,45 * * * *'), { name: 'manual' }]);
    await scheduler.start();
    clock.advance(50 * 60_000);
    expect(fired.map((f) => `${f.dataset}@${f.at.slice(11, 16)}`)).toEqual(['b@00:05', 'a@00:10', 'a@00:20', 'b@00:25', 'a@00:30', 'a@00:40', 'b@00:45', 'a@00:50']);
    // A dataset without a schedule is never fired and not listed.
    expect(scheduler.nextRuns().map((r) => r.dataset)).toEqual(['a', 'b']);
    await scheduler.stop();
  });

  it('stop() stops: no trigger afterwards, no timer left', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const { scheduler, fired } = harness(clock, [daily('home')]);
    await scheduler.start();
    clock.advance(DAY);
    expect(fired).toHaveLength(1);
    await scheduler.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(scheduler.nextRuns()).toEqual([]);
    clock.advance(10 * DAY);
    expect(fired).toHaveLength(1);
  });

  it('runs a schedule missed while the host was down once at start, with reason "missed"', async () => {
    const stateFile = path.join(dir, 'scheduler.json');
    const threeDaysAgo = '2024-03-07T02:00:00.000Z';
    fs.writeFileSync(stateFile, JSON.stringify({ version: 1, datasets: { home: { schedule: '0 2 * * *', timezone: 'UTC', since: '2024-01-01T00:00:00.000Z', lastScheduled: threeDaysAgo, lastFiredAt: threeDaysAgo, lastReason: 'schedule' } } }));
    const clock = new ManualClock('2024-03-10T12:00:00Z');
    const { scheduler, fired } = harness(clock, [daily('home'), daily('fresh')], stateFile);
    await scheduler.start();
    expect(fired).toEqual([{ dataset: 'home', reason: 'missed', at: '2024-03-10T12:00:00.000Z' }]);
    expect(scheduler.nextRuns().find((r) => r.dataset === 'home')).toEqual({
      dataset: 'home',
      schedule: '0 2 * * *',
      timezone: 'UTC',
      next: '2024-03-11T02:00:00.000Z',
      lastScheduled: '2024-03-10T02:00:00.000Z',
      lastFiredAt: '2024-03-10T12:00:00.000Z',
      lastReason: 'missed',
    });
    clock.advance(DAY);
    // Due at the same moment: fired in the order the datasets were given.
    expect(fired.slice(1)).toEqual([
      { dataset: 'home', reason: 'schedule', at: '2024-03-11T02:00:00.000Z' },
      { dataset: 'fresh', reason: 'schedule', at: '2024-03-11T02:00:00.000Z' },
    ]);
    await scheduler.stop();
  });

  it('keeps its state across restarts: nothing repeated, a downtime caught up once', async () => {
    const clock = new ManualClock('2024-05-01T01:00:00Z');
    const first = harness(clock, [daily('home')]);
    await first.scheduler.start();
    clock.advance(2 * HOUR); // fires at 02:00
    await first.scheduler.stop();
    expect(first.fired).toEqual([{ dataset: 'home', reason: 'schedule', at: '2024-05-01T02:00:00.000Z' }]);
    const saved = JSON.parse(fs.readFileSync(first.stateFile, 'utf8')) as { datasets: Record<string, { lastScheduled: string }> };
    expect(saved.datasets['home']!.lastScheduled).toBe('2024-05-01T02:00:00.000Z');

    // Restart an hour later: the 02:00 run happened, nothing is missed.
    clock.advance(HOUR);
    const second = harness(clock, [daily('home')]);
    await second.scheduler.start();
    expect(second.fired).toEqual([]);
    await second.scheduler.stop();

    // Down for three days: one catch-up run, not three.
    clock.advance(3 * DAY);
    const third = harness(clock, [daily('home')]);
    await third.scheduler.start();
    expect(third.fired).toEqual([{ dataset: 'home', reason: 'missed', at: '2024-05-04T04:00:00.000Z' }]);
    await third.scheduler.stop();
    expect(fs.readdirSync(path.dirname(first.stateFile))).toEqual(['scheduler.json']);
  });

  it('catches up a new dataset whose first run fell into a downtime', async () => {
    const clock = new ManualClock('2024-05-01T01:00:00Z');
    const first = harness(clock, [daily('home')]);
    await first.scheduler.start();
    clock.advance(30 * 60_000);
    await first.scheduler.stop();
    clock.advance(2 * HOUR); // 02:00 passes while the host is down
    const second = harness(clock, [daily('home')]);
    await second.scheduler.start();
    expect(second.fired).toEqual([{ dataset: 'home', reason: 'missed', at: '2024-05-01T03:30:00.000Z' }]);
    await second.scheduler.stop();
  });

  it('does not catch up when the schedule itself changed', async () => {
    const clock = new ManualClock('2024-05-01T01:00:00Z');
    const first = harness(clock, [daily('home', '0 2 * * *')]);
    await first.scheduler.start();
    clock.advance(2 * HOUR);
    await first.scheduler.stop();
    clock.advance(2 * DAY);
    const second = harness(clock, [daily('home', '0 4 * * *')]);
    await second.scheduler.start();
    expect(second.fired).toEqual([]);
    expect(second.scheduler.nextRuns()[0]!.next).toBe('2024-05-03T04:00:00.000Z');
    await second.scheduler.stop();
  });

  it('ignores a corrupt state file with a warning, and replaces it', async () => {
    const stateFile = path.join(dir, 'scheduler.json');
    fs.writeFileSync(stateFile, '{"version": 1, "datasets": {"home": {"sched');
    const clock = new ManualClock('2024-03-10T12:00:00Z');
    const { scheduler, fired, warnings } = harness(clock, [daily('home')], stateFile);
    await scheduler.start();
    expect(fired).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^scheduler state ${stateFile} is corrupt \\(.*\\); ignoring it`))]);
    expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toEqual({ version: 1, datasets: { home: { schedule: '0 2 * * *', timezone: 'UTC', since: '2024-03-10T12:00:00.000Z' } } });
    clock.advance(DAY);
    expect(fired).toHaveLength(1);
    await scheduler.stop();

    fs.writeFileSync(stateFile, JSON.stringify({ version: 1, datasets: { home: { schedule: 5 } } }));
    const again = harness(clock, [daily('home')], stateFile);
    await again.scheduler.start();
    expect(again.warnings).toEqual([`scheduler state ${stateFile}: the entry of dataset "home" is malformed; ignoring it`]);
    await again.scheduler.stop();
  });

  it('logs a trigger that throws and keeps the schedule going', async () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const warnings: string[] = [];
    let calls = 0;
    const scheduler = new Scheduler({
      datasets: [daily('home')],
      stateFile: path.join(dir, 's.json'),
      clock,
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
      trigger: () => {
        calls++;
        if (calls === 1) throw new Error('dataset home already has a job');
        return Promise.reject(new Error('queue is shutting down'));
      },
    });
    await scheduler.start();
    clock.advance(2 * DAY);
    await scheduler.stop();
    expect(calls).toBe(2);
    expect(warnings).toEqual([
      'dataset home: the scheduled run was not queued: dataset home already has a job',
      'dataset home: the scheduled run was not queued: queue is shutting down',
    ]);
  });

  it('rejects an invalid schedule naming the dataset', () => {
    expect(() => new Scheduler({ datasets: [daily('home', '0 2 * *')], stateFile: path.join(dir, 's.json'), trigger: () => undefined })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(/^dataset home: "0 2 \* \*" is not a valid cron expression/) }),
    );
    expect(() => new Scheduler({ datasets: [{ name: 'x', schedule: '@daily', timezone: 'Nowhere/Land' }], stateFile: path.join(dir, 's.json'), trigger: () => undefined })).toThrow(/dataset x: "Nowhere\/Land" is not a known time zone/);
  });
});

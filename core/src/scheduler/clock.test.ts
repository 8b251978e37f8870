import { ManualClock, SystemClock } from './clock';
import { CronSchedule } from './cron-schedule';

describe('ManualClock', () => {
  it('fires due timers in time order with now() at each timer, including timers set while advancing', () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    const t0 = clock.now();
    const log: string[] = [];
    clock.setTimer(t0 + 300, () => log.push(`c@${clock.now() - t0}`));
    clock.setTimer(t0 + 100, () => {
      log.push(`a@${clock.now() - t0}`);
      clock.setTimer(t0 + 200, () => log.push(`b@${clock.now() - t0}`));
    });
    clock.setTimer(t0 + 100, () => log.push(`a2@${clock.now() - t0}`));
    const cancelled = clock.setTimer(t0 + 150, () => log.push('never'));
    cancelled.cancel();
    clock.advance(250);
    expect(log).toEqual(['a@100', 'a2@100', 'b@200']);
    expect(clock.now()).toBe(t0 + 250);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(50);
    expect(log).toEqual(['a@100', 'a2@100', 'b@200', 'c@300']);
    expect(() => clock.advanceTo(t0)).toThrow(RangeError);
  });
});

describe('SystemClock', () => {
  it('fires a timer once its time has come, and never a cancelled one', async () => {
    const clock = new SystemClock();
    const start = clock.now();
    const firedAt = await new Promise<number>((resolve) => {
      clock.setTimer(start + 20, () => resolve(clock.now()));
    });
    expect(firedAt).toBeGreaterThanOrEqual(start + 20);

    let cancelledFired = false;
    clock.setTimer(clock.now() + 5, () => (cancelledFired = true)).cancel();
    await new Promise<void>((resolve) => clock.setTimer(clock.now() + 30, resolve));
    expect(cancelledFired).toBe(false);
  });
});

describe('CronSchedule', () => {
  it('computes occurrences from the expression, in its time zone', () => {
    const s = new CronSchedule('0 2 * * *', 'UTC');
    const at = Date.parse('2024-01-02T02:00:00Z');
    expect(new Date(s.nextAfter(at)).toISOString()).toBe('2024-01-03T02:00:00.000Z');
    expect(new Date(s.nextAfter(at - 1)).toISOString()).toBe('2024-01-02T02:00:00.000Z');
    expect(new Date(s.lastAtOrBefore(at)).toISOString()).toBe('2024-01-02T02:00:00.000Z');
    expect(new Date(s.lastAtOrBefore(at - 1)).toISOString()).toBe('2024-01-01T02:00:00.000Z');
    const seconds = new CronSchedule('*/20 * * * * *', 'UTC');
    expect(new Date(seconds.nextAfter(at + 500)).toISOString()).toBe('2024-01-02T02:00:20.000Z');
    expect(new Date(new CronSchedule('@weekly', 'UTC').nextAfter(at)).toISOString()).toBe('2024-01-07T00:00:00.000Z');
  });
});

import { QuietTrigger } from './quiet-trigger';

/**
 * The host syncs its catalog after a job only once no job has run for a
 * while (or after the longest deferral), so that indexing a large snapshot
 * does not slow the next job of a burst. Pure timing logic: jest's fake
 * timers stand in for the clock.
 */
describe('QuietTrigger', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());
  const timing = { quietMs: 1_000, maxDeferMs: 10_000, pollMs: 100 };

  it('waits while jobs run and until none has run for quietMs, then runs once for every request made meanwhile', () => {
    let lastJobEnd: number | 'running' = 'running';
    const idleFor = (): number => (lastJobEnd === 'running' ? 0 : Date.now() - lastJobEnd);
    const action = jest.fn();
    const trigger = new QuietTrigger(idleFor, action, timing);
    trigger.request();
    jest.advanceTimersByTime(3_000);
    expect(action).not.toHaveBeenCalled();
    lastJobEnd = Date.now();
    trigger.request(); // joins the pending one
    jest.advanceTimersByTime(900);
    expect(action).not.toHaveBeenCalled();
    jest.advanceTimersByTime(200);
    expect(action).toHaveBeenCalledTimes(1);
    expect(trigger.pending).toBe(false);
    jest.advanceTimersByTime(5_000);
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('runs after maxDeferMs on a host that is never quiet, and not at all once cancelled', () => {
    const action = jest.fn();
    const busy = new QuietTrigger(() => 0, action, timing);
    busy.request();
    jest.advanceTimersByTime(9_800);
    expect(action).not.toHaveBeenCalled();
    jest.advanceTimersByTime(300);
    expect(action).toHaveBeenCalledTimes(1);

    const cancelled = new QuietTrigger(() => 60_000, action, timing);
    cancelled.request();
    cancelled.cancel();
    jest.advanceTimersByTime(20_000);
    expect(action).toHaveBeenCalledTimes(1);
  });
});

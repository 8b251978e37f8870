import { EbmError, JsonValue } from '@ebm/sdk';
import { Clock, SystemClock, Timer } from './clock';
import { CronSchedule, hostTimezone } from './cron-schedule';
import { DatasetScheduleState, readSchedulerState, SchedulerState, TriggerReason, writeSchedulerState } from './scheduler-state';

export type { TriggerReason } from './scheduler-state';

/** What the scheduler needs of a dataset; DatasetConfig from the host configuration fits. */
export interface ScheduledDataset {
  readonly name: string;
  /** Cron expression; datasets without one are not scheduled. */
  readonly schedule?: string;
  /** IANA zone; default the host's local zone. */
  readonly timezone?: string;
}

/** Structural subset of the host Logger (core/src/logging), so the scheduler does not depend on it. */
export interface SchedulerLog {
  info(message: string, fields?: Readonly<Record<string, JsonValue | undefined>>): void;
  warn(message: string, fields?: Readonly<Record<string, JsonValue | undefined>>): void;
}

export interface SchedulerOptions<D extends ScheduledDataset> {
  readonly datasets: readonly D[];
  /**
   * Called when a dataset is due; hands the run to the queue. It must not
   * block: the scheduler does not wait for the run. A throw or rejection
   * (e.g. the queue refuses because the dataset is already running) is
   * logged and the occurrence counts as fired.
   */
  readonly trigger: (dataset: D, reason: TriggerReason) => void | Promise<unknown>;
  /** JSON state file (the configuration's state.schedulerFile). */
  readonly stateFile: string;
  readonly clock?: Clock;
  readonly log?: SchedulerLog;
}

/** One line of the status API. */
export interface ScheduledRun {
  readonly dataset: string;
  readonly schedule: string;
  readonly timezone: string;
  /** ISO time of the next run. */
  readonly next: string;
  readonly lastScheduled?: string;
  readonly lastFiredAt?: string;
  readonly lastReason?: TriggerReason;
}

interface Slot<D> {
  readonly dataset: D;
  readonly cron: CronSchedule;
  next?: number;
  timer?: Timer;
}

const NO_LOG: SchedulerLog = { info: () => undefined, warn: () => undefined };

/**
 * Fires datasets on their cron schedules.
 *
 * - Next times come from the cron expression after the current occurrence
 *   (never last run + interval), so schedules do not drift. If the process
 *   was stalled past several occurrences, they collapse into one run.
 * - A schedule missed while the host was down runs ONCE at start(), reason
 *   'missed', however many occurrences were missed. A dataset seen for the
 *   first time, or whose expression or zone changed, has nothing missed.
 * - The trigger is called before the state is saved: a crash in between
 *   repeats a run at the next start (at least once), it never loses one.
 */
export class Scheduler<D extends ScheduledDataset> {
  readonly #slots: Slot<D>[] = [];
  readonly #trigger: SchedulerOptions<D>['trigger'];
  readonly #stateFile: string;
  readonly #clock: Clock;
  readonly #log: SchedulerLog;
  #state: SchedulerState = {};
  #writing: Promise<void> = Promise.resolve();
  #running = false;

  /** Throws EbmError E_USAGE naming the dataset when a schedule or zone is invalid. */
  constructor(options: SchedulerOptions<D>) {
    this.#trigger = options.trigger;
    this.#stateFile = options.stateFile;
    this.#clock = options.clock ?? new SystemClock();
    this.#log = options.log ?? NO_LOG;
    for (const dataset of options.datasets) {
      if (dataset.schedule === undefined) continue;
      try {
        this.#slots.push({ dataset, cron: new CronSchedule(dataset.schedule, dataset.timezone ?? hostTimezone()) });
      } catch (err) {
        throw new EbmError('E_USAGE', `dataset ${dataset.name}: ${(err as Error).message}`, { subject: dataset.name, op: 'schedule' });
      }
    }
  }

  /** Reads the state file, fires missed runs once, arms the timers. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const saved = await readSchedulerState(this.#stateFile, (message) => this.#log.warn(message, { file: this.#stateFile }));
    const now = this.#clock.now();
    const missed: Slot<D>[] = [];
    this.#state = {};
    for (const slot of this.#slots) {
      const { name } = slot.dataset;
      const before = saved[name];
      if (before !== undefined && before.schedule === slot.cron.expression && before.timezone === slot.cron.timezone) {
        this.#state[name] = before;
        const reference = Date.parse(before.lastScheduled ?? before.since);
        if (slot.cron.nextAfter(reference) <= now) missed.push(slot);
      } else {
        this.#state[name] = { schedule: slot.cron.expression, timezone: slot.cron.timezone, since: new Date(now).toISOString() };
      }
    }
    for (const slot of missed) this.#fire(slot, slot.cron.lastAtOrBefore(now), 'missed');
    this.#persist();
    // Armed from the `now` read above: an occurrence passing while we started is not skipped.
    for (const slot of this.#slots) this.#arm(slot, now);
    await this.#writing;
  }

  /** Cancels the timers and waits for the state file to be written. No trigger happens after it resolves. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const slot of this.#slots) {
      slot.timer?.cancel();
      slot.timer = undefined;
      slot.next = undefined;
    }
    await this.#writing;
  }

  /** Resolves when state writes issued so far are on disk. */
  flush(): Promise<void> {
    return this.#writing;
  }

  /** The scheduled datasets, soonest first (empty before start and after stop). */
  nextRuns(): ScheduledRun[] {
    const runs: ScheduledRun[] = [];
    for (const slot of this.#slots) {
      if (slot.next === undefined) continue;
      const state: Partial<DatasetScheduleState> = this.#state[slot.dataset.name] ?? {};
      runs.push({
        dataset: slot.dataset.name,
        schedule: slot.cron.expression,
        timezone: slot.cron.timezone,
        next: new Date(slot.next).toISOString(),
        ...(state.lastScheduled === undefined ? {} : { lastScheduled: state.lastScheduled }),
        ...(state.lastFiredAt === undefined ? {} : { lastFiredAt: state.lastFiredAt }),
        ...(state.lastReason === undefined ? {} : { lastReason: state.lastReason }),
      });
    }
    return runs.sort((a, b) => a.next.localeCompare(b.next) || a.dataset.localeCompare(b.dataset));
  }

  #arm(slot: Slot<D>, after: number): void {
    const at = slot.cron.nextAfter(after);
    slot.next = at;
    slot.timer = this.#clock.setTimer(at, () => {
      if (!this.#running) return;
      this.#fire(slot, at, 'schedule');
      this.#persist();
      // From the later of the occurrence and now: occurrences passed while stalled collapse into this run.
      this.#arm(slot, Math.max(at, this.#clock.now()));
    });
  }

  #fire(slot: Slot<D>, occurrence: number, reason: TriggerReason): void {
    const { name } = slot.dataset;
    const firedAt = new Date(this.#clock.now()).toISOString();
    const scheduledFor = new Date(occurrence).toISOString();
    this.#state[name] = { ...this.#state[name]!, lastScheduled: scheduledFor, lastFiredAt: firedAt, lastReason: reason };
    this.#log.info(reason === 'missed' ? 'running missed schedule' : 'schedule due', { dataset: name, reason, scheduledFor });
    const refused = (err: unknown): void => this.#log.warn(`dataset ${name}: the scheduled run was not queued: ${(err as Error)?.message ?? String(err)}`, { dataset: name, reason, scheduledFor });
    try {
      const result = this.#trigger(slot.dataset, reason);
      if (result instanceof Promise) result.catch(refused);
    } catch (err) {
      refused(err);
    }
  }

  /** Queues a write of the current state behind earlier ones; failures are logged (the state is a hint). */
  #persist(): void {
    this.#writing = this.#writing
      .then(() => writeSchedulerState(this.#stateFile, { ...this.#state }))
      .catch((err: unknown) => this.#log.warn(`cannot write scheduler state ${this.#stateFile}: ${(err as Error).message}`, { file: this.#stateFile }));
  }
}

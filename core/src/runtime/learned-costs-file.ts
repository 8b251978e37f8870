import * as fs from 'node:fs';
import type { CostModel, LearnedUsage } from '../queue/cost-model';
import type { JobEvents } from '../jobs/job-events';
import { writeFileAtomic } from '../fs/atomic-write';
import type { Logger } from '../logging/logger';

interface CostsDocument {
  readonly v: 1;
  /** Keyed "translator\u0000dataset", as CostModel.export gives them. */
  readonly learned: Readonly<Record<string, LearnedUsage>>;
}

/**
 * Keeps what the queue learned about translators' memory across restarts
 * (state.costsFile), so a host that restarts does not go back to the
 * manifests' declarations and re-learn from scratch. Written atomically
 * after each finished backup (one write at a time; a later write carries
 * everything). A missing or unreadable file only costs the learning: it is
 * logged and ignored, never a reason not to start.
 */
export class LearnedCostsFile {
  #writing: Promise<void> = Promise.resolve();
  #detach: (() => void) | undefined;

  constructor(readonly file: string, private readonly costs: CostModel, private readonly log: Logger) {}

  load(): number {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('learned costs not loaded', { file: this.file, error: (err as Error).message });
      return 0;
    }
    try {
      const doc = JSON.parse(text) as Partial<CostsDocument>;
      if (doc.v !== 1 || typeof doc.learned !== 'object' || doc.learned === null) throw new Error('not a version 1 costs document');
      this.costs.import(doc.learned);
      return Object.keys(doc.learned).length;
    } catch (err) {
      this.log.warn('learned costs file ignored (it will be rewritten)', { file: this.file, error: (err as Error).message });
      return 0;
    }
  }

  /** Saves after every finished backup. */
  attach(events: JobEvents): void {
    const onDone = (job: { readonly kind: string; readonly state: string }): void => {
      if (job.kind === 'backup' && job.state === 'done') void this.save();
    };
    events.on('job:done', onDone);
    this.#detach = () => events.off('job:done', onDone);
  }

  save(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const doc: CostsDocument = { v: 1, learned: this.costs.export() };
      try {
        await writeFileAtomic(this.file, JSON.stringify(doc, null, 2) + '\n');
      } catch (err) {
        this.log.warn('learned costs not saved', { file: this.file, error: (err as Error).message });
      }
    });
    return this.#writing;
  }

  /** Detaches and waits for the last write. */
  async close(): Promise<void> {
    this.#detach?.();
    await this.#writing;
  }
}

import { EventEmitter } from 'eventemitter3';
import type { ProgressUpdate } from '@ebm/sdk';
import type { JobLogLine, JobRecord, JobState } from './job-types';

export interface JobStateEvent {
  readonly job: JobRecord;
  readonly from: JobState;
  readonly to: JobState;
}

export interface JobProgressEvent {
  readonly jobId: string;
  readonly progress: ProgressUpdate;
}

export interface JobLogEvent {
  readonly jobId: string;
  readonly line: JobLogLine;
}

/**
 * What jobs report. Payloads are plain data (JSON-safe), so the HTTP event
 * stream and the journal can pass them on as they are.
 *  - job:queued  a new job was accepted (not on a retry: that is a job:state to 'queued')
 *  - job:state   every state change, with the record after the change
 *  - job:progress, job:log  while it runs
 *  - job:done    the job reached done, failed or cancelled (after its job:state)
 * Listeners run synchronously in the host's thread: keep them cheap, never throw.
 */
export interface JobEventMap {
  'job:queued': [JobRecord];
  'job:state': [JobStateEvent];
  'job:progress': [JobProgressEvent];
  'job:log': [JobLogEvent];
  'job:done': [JobRecord];
}

export class JobEvents extends EventEmitter<JobEventMap> {}

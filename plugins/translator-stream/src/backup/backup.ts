import * as path from 'node:path';
import { BackupContext, BackupOutcome, EbmError, JsonValue, throwIfCancelled } from '@ebm/sdk';
import { INFO_PATH, ProducerStatus, STREAM_FORMAT, SourceInfo, StreamInfo, storedInfo } from '../layout';
import { BackupOptions, parseBackupOptions } from '../options';
import { AppendPlan, planAppend, previousRecord } from './append-only';
import { PieceCutter } from './piece-cutter';
import { readHandle } from './read-fd';
import { RecordWriter } from './record-writer';
import { OpenedPath, Producer, openPath, readStdin, resolveSource } from './source';
import { StreamPump, cryptoSha256 } from './stream-pump';

/** A progress message at least this often keeps the host's stall clock from firing while a producer is silent. */
const HEARTBEAT_MS = 10_000;

/**
 * Backs up one stream (see layout.ts for how it is stored and source.ts for
 * what a source can be). The snapshot is recorded only if the producer
 * succeeded: a command must exit 0 without a signal (decided on 'close',
 * after its output is drained), and the stream must not be empty unless
 * --allow-empty. Otherwise the backup throws — E_PRODUCER_FAILED with the exit
 * status and the end of the producer's standard error — and the host records
 * nothing and discards the data this job stored.
 */
export async function backupStream(ctx: BackupContext): Promise<BackupOutcome> {
  const options = parseBackupOptions(ctx.options);
  const resolved = resolveSource(ctx.source, options);
  const startTime = new Date().toISOString();
  const cutter = await PieceCutter.create(ctx.tree, options.chunkSize);
  const records = new RecordWriter(ctx.tree);
  await records.open();

  let producer: Producer | undefined;
  let opened: OpenedPath | undefined;
  let chunks: AsyncIterable<Uint8Array>;
  let plan: AppendPlan | undefined;
  let sourceInfo: SourceInfo;
  let name: string;
  if (resolved.kind === 'command') {
    name = checkedName(options.name ?? path.basename(resolved.argv[0]!));
    sourceInfo = { kind: 'command', argv: resolved.argv };
    throwIfCancelled(ctx.signal, 'backup');
    producer = Producer.start(resolved.argv);
    const started = producer;
    // A silent producer would never let the read loop see a cancel: stop it as soon as the job is cancelled.
    ctx.signal.addEventListener('abort', () => started.stop(), { once: true });
    chunks = producer.stdout;
  } else if (resolved.kind === 'stdin') {
    name = checkedName(options.name ?? 'stdin');
    sourceInfo = { kind: 'stdin' };
    chunks = readStdin(ctx.signal);
  } else {
    name = checkedName(options.name ?? path.basename(resolved.path));
    opened = await openPath(resolved.path);
    sourceInfo = opened.info;
    if (options.appendOnly) {
      const file = opened;
      // Comparing with the parent asks the host for its trees: a cancel or a failure there must not leave the file open.
      plan = await closingOnError(file, async () => {
        if (!file.regular) throw new EbmError('E_USAGE', `--append-only needs a regular file; ${resolved.path} is not one`, { subject: resolved.path });
        const planned = await planAppend(ctx, file.handle, file.size, name, options.framing);
        for (let i = 0; i < planned.reuse; i++) await records.reuse(await previousRecord(ctx, i));
        return planned;
      });
    }
    chunks = readHandle(opened.handle, opened.regular ? (plan?.start ?? 0) : null, ctx.signal);
  }

  const hash = plan?.hash ?? cryptoSha256();
  const pump = new StreamPump(ctx, records, cutter, hash, {
    framed: options.framing === 'jsonl-segments',
    firstSegment: plan?.firstSegment ?? 0,
    ...(plan ? { windows: plan.windows } : {}),
  });
  ctx.progress.update({ bytes: 0, files: records.count }); // the source is open: tell the host before the first byte arrives
  const heartbeat = setInterval(() => ctx.progress.update({ bytes: pump.bytes, files: records.count }), HEARTBEAT_MS);
  let producerStatus: ProducerStatus;
  try {
    try {
      for await (const data of chunks) await pump.push(data);
    } catch (err) {
      throw producer?.startError ?? err;
    }
    throwIfCancelled(ctx.signal, 'backup');
    if (producer !== undefined) {
      if (producer.startError) throw producer.startError;
      const exit = await producer.finish();
      producerStatus = { status: 'succeeded', exitCode: 0, signal: null, ...(exit.stderrTail.trim() !== '' ? { stderrTail: exit.stderrTail } : {}) };
    } else {
      producerStatus = { status: opened?.regular ? 'complete' : 'unknown' };
    }
    await pump.end();
  } catch (err) {
    producer?.stop();
    throw err;
  } finally {
    clearInterval(heartbeat);
    await opened?.handle.close();
  }

  const totalBytes = records.bytes;
  if (totalBytes === 0 && !options.allowEmpty) {
    throw new EbmError('E_PRODUCER_FAILED', `the stream ${JSON.stringify(name)} is empty (0 bytes)${producer ? ` although ${producer.argv[0]} exited 0` : ''}; no snapshot was recorded (pass --allow-empty if an empty stream is valid)`, {
      subject: name,
      op: 'backup',
    });
  }
  const info = streamInfo(options, { name, sourceInfo, producerStatus, startTime, totalBytes, records: records.count, segments: pump.segments, cutter, hash, plan, newBytes: pump.bytes });
  // The tree holds what the stream is; the snapshot's meta adds how this run went (its times, what it reused).
  await ctx.tree.add(INFO_PATH, { kind: 'stream', size: totalBytes, meta: { ...STREAM_FORMAT, stream: storedInfo(info) as unknown as JsonValue } });
  return { meta: { ...STREAM_FORMAT, stream: info as unknown as JsonValue } };
}

/** Runs `body`; if it throws, closes the opened source first. */
async function closingOnError<T>(opened: OpenedPath, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    await opened.handle.close();
    throw err;
  }
}

interface Facts {
  readonly name: string;
  readonly sourceInfo: SourceInfo;
  readonly producerStatus: ProducerStatus;
  readonly startTime: string;
  readonly totalBytes: number;
  readonly records: number;
  readonly segments: number | undefined;
  readonly cutter: PieceCutter;
  readonly hash: ReturnType<typeof cryptoSha256> | AppendPlan['hash'];
  readonly plan: AppendPlan | undefined;
  readonly newBytes: number;
}

function streamInfo(options: BackupOptions, f: Facts): StreamInfo {
  const plan = f.plan;
  const sha256 = 'digestHex' in f.hash ? f.hash.digestHex() : f.hash.digest('hex');
  return {
    name: f.name,
    ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
    source: f.sourceInfo,
    producer: f.producerStatus,
    bytes: f.totalBytes,
    sha256,
    startTime: f.startTime,
    endTime: new Date().toISOString(),
    framing: options.framing,
    records: f.records,
    ...(f.segments !== undefined ? { segments: f.segments } : {}),
    chunking: { avgSize: f.cutter.params.avgSize, minSize: f.cutter.params.minSize, maxSize: f.cutter.params.maxSize },
    ...(plan
      ? {
          incremental: { ...plan.incremental, reusedBytes: plan.start, newBytes: f.newBytes },
          append: { headSha256: plan.windows.headSha256(), tailSha256: plan.windows.tailSha256(), window: plan.windows.window, hashState: plan.hash.exportState() },
        }
      : {}),
  };
}

/** A stream's name becomes a file name on restore: one path component, no NUL. */
function checkedName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new EbmError('E_USAGE', `--name ${JSON.stringify(name)}: a stream name must be one file name (no '/', not '.' or '..')`, { subject: name });
  }
  return name;
}

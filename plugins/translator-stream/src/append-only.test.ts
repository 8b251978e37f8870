import { createHash } from 'node:crypto';
import { promises as fsp, readdirSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { BackupTaskResult } from '@ebm/sdk';
import { backupOk, failure, removeAll, restoreOk, streamMeta, tempDir, testRepository } from './testing/harness';
import translator from './index';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Descriptors of this process open on `file` (Linux: /proc/self/fd). */
function openDescriptorsOn(file: string): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}

function logLines(from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += `2024-05-01T12:${String(i % 60).padStart(2, '0')}:00Z host app[${i}]: request ${i * 7919} served in ${i % 97} ms\n`;
  return text;
}

describe('stream translator: an append-only file (a log) through growth and rotation', () => {
  let work: string;
  let log: string;
  const repo = testRepository();
  const options = { 'append-only': true, name: 'app.log' };

  beforeAll(async () => {
    work = await tempDir('append');
    log = path.join(work, 'app.log');
  });
  afterAll(() => removeAll(work));

  /** Backs up the log against `parent`, restores the snapshot, and checks the restored file equals the log. */
  async function backupAndCheck(parent: BackupTaskResult | undefined, label: string): Promise<BackupTaskResult> {
    const backup = await backupOk(repo, { source: log, options, ...(parent ? { parentTree: parent.tree } : {}) });
    const content = await fsp.readFile(log);
    expect(streamMeta(backup)).toMatchObject({ bytes: content.length, sha256: sha256(content), source: { kind: 'file', path: log }, producer: { status: 'complete' } });
    const target = path.join(work, `restored-${label}`);
    await restoreOk(repo, backup, { target });
    expect(sha256(await fsp.readFile(path.join(target, 'app.log')))).toBe(sha256(content));
    return backup;
  }

  it('reads only the appended bytes while the earlier ones are unchanged, and takes a new baseline (saying why) after rotation or truncation', async () => {
    await fsp.writeFile(log, logLines(0, 20000));
    const first = await backupAndCheck(undefined, 'first');
    expect(streamMeta(first).incremental).toMatchObject({ mode: 'append-only', baseline: true, reason: expect.stringMatching(/no previous snapshot/) });

    const appended = logLines(20000, 3000);
    await fsp.appendFile(log, appended);
    const second = await backupAndCheck(first, 'second');
    const size1 = streamMeta(first).bytes as number;
    expect(streamMeta(second).incremental).toEqual({ mode: 'append-only', baseline: false, previousSnapshot: expect.any(String), reusedBytes: size1, newBytes: appended.length });
    // Only the new bytes were read (plus the 33-byte gear-key label every backup stores).
    expect(second.stats.bytesRead).toBeLessThan(appended.length + 64);

    await fsp.appendFile(log, 'one more line\n');
    const third = await backupAndCheck(second, 'third');
    expect(streamMeta(third).incremental).toMatchObject({ baseline: false, newBytes: 14 });

    // Rotation: the old file moves away, a new one (longer than before) takes its name.
    await fsp.rename(log, `${log}.1`);
    await fsp.writeFile(log, logLines(50000, 30000));
    const rotated = await backupAndCheck(third, 'rotated');
    expect(streamMeta(rotated).incremental).toMatchObject({ baseline: true, reason: expect.stringMatching(/first 65536 bytes differ .*rotated or rewritten/) });

    // copytruncate: same file, emptied and written again (shorter than before).
    await fsp.writeFile(log, logLines(90000, 2500));
    const truncated = await backupAndCheck(rotated, 'truncated');
    expect(streamMeta(truncated).incremental).toMatchObject({ baseline: true, reason: expect.stringMatching(/shorter .* truncated or rotated/) });

    // A rewrite just before the previous end (the head unchanged) is caught by the tail check.
    const content = await fsp.readFile(log);
    content[content.length - 5] = 0x21;
    await fsp.writeFile(log, Buffer.concat([content, Buffer.from(logLines(92500, 10))]));
    const rewritten = await backupAndCheck(truncated, 'rewritten');
    expect(streamMeta(rewritten).incremental).toMatchObject({ baseline: true, reason: expect.stringMatching(/before the previous snapshot's end .* rewritten/) });
  });

  it('closes the file when an incremental is cancelled while it compares the file with its parent', async () => {
    const file = path.join(work, 'cancel.log');
    await fsp.writeFile(file, logLines(0, 5000));
    const opts = { 'append-only': true, name: 'cancel.log' };
    const first = await backupOk(repo, { source: file, options: opts });
    await fsp.appendFile(file, logLines(5000, 100));
    // The first messages of the incremental: the gear-key label, "source open" progress, the parent lookups.
    for (let n = 1; n <= 6; n++) {
      const error = failure(await repo.backup(translator, { source: file, options: opts, parentTree: first.tree, cancelAfterMessages: n }));
      expect([n, error.code]).toEqual([n, 'E_CANCELLED']);
      for (let i = 0; i < 50 && openDescriptorsOn(file).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect([n, openDescriptorsOn(file)]).toEqual([n, []]);
    }
  });

  it('continues a framed log segment by segment', async () => {
    const framed = path.join(work, 'frames.log');
    const seg = (i: number): string => {
      const payload = `event ${i}\n`.repeat(i + 1);
      return `${JSON.stringify({ length: Buffer.byteLength(payload), start: i, end: i + 1 })}\n${payload}`;
    };
    await fsp.writeFile(framed, [0, 1, 2].map(seg).join(''));
    const opts = { 'append-only': true, framing: 'jsonl-segments', name: 'frames.log' };
    const first = await backupOk(repo, { source: framed, options: opts });
    await fsp.appendFile(framed, [3, 4].map(seg).join(''));
    const second = await backupOk(repo, { source: framed, options: opts, parentTree: first.tree });
    expect(streamMeta(second)).toMatchObject({ segments: 5, incremental: { baseline: false } });
    const target = path.join(work, 'frames-restored');
    await restoreOk(repo, second, { target, options: { segments: '3-4', 'payload-only': true } });
    expect(await fsp.readFile(path.join(target, 'frames.log'), 'utf8')).toBe(`${'event 3\n'.repeat(4)}${'event 4\n'.repeat(5)}`);
  });
});

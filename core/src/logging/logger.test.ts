import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileSink, Logger } from './logger';

describe('structured logger', () => {
  it('writes one JSON object per line with bound job and plugin fields, filtered by level', () => {
    const lines: string[] = [];
    const root = new Logger({ write: (l) => lines.push(l) }, 'info');
    const job = root.child({ job: 'j-1', plugin: 'filesystem' });
    job.debug('not shown');
    job.info('backup started', { dataset: 'home' });
    job.child({ attempt: 2 }).error('plugin crashed', { code: 'E_PLUGIN_CRASHED', ignored: undefined });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(parsed).toEqual([
      { time: expect.any(String), level: 'info', msg: 'backup started', job: 'j-1', plugin: 'filesystem', dataset: 'home' },
      { time: expect.any(String), level: 'error', msg: 'plugin crashed', job: 'j-1', plugin: 'filesystem', attempt: 2, code: 'E_PLUGIN_CRASHED' },
    ]);
  });

  it('appends to a log file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-log-'));
    const file = path.join(dir, 'ebm.jsonl');
    const sink = fileSink(file);
    new Logger(sink).info('one');
    new Logger(sink).warn('two', { job: 'x' });
    sink.close();
    const parsed = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; job?: string });
    expect(parsed.map((p) => p.msg)).toEqual(['one', 'two']);
    expect(parsed[1]!.job).toBe('x');
    fs.rmSync(dir, { recursive: true });
  });
});

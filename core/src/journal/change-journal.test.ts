import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChangeJournal } from './change-journal';

/**
 * The change journal with a real fswatch process (Debian package fswatch,
 * installed by .ci/run) watching real directories: what it records, and every
 * way it stops being trustworthy.
 */
describe('ChangeJournal', () => {
  let dir: string;
  let root: string;
  const journals: ChangeJournal[] = [];
  const journal = (options: ConstructorParameters<typeof ChangeJournal>[1] = {}): ChangeJournal => {
    const j = new ChangeJournal(root, options);
    journals.push(j);
    return j;
  };
  const until = async (what: () => boolean, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-journal-'));
    root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'a', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a', 'deep', 'x.txt'), 'x');
    fs.writeFileSync(path.join(root, 'top.txt'), 'top');
  });
  afterEach(() => {
    for (const j of journals.splice(0)) j.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records changed paths relative to the root, trusted only from the snapshot it has seen start', async () => {
    const j = journal();
    await j.start();
    expect(j.status()).toMatchObject({ state: 'watching', root: fs.realpathSync(root) });

    const baseline = await j.cut(undefined, false);
    expect(baseline).toMatchObject({ trusted: false, reason: expect.stringMatching(/no parent snapshot/) });
    baseline.commit('snap-1');

    fs.appendFileSync(path.join(root, 'a', 'deep', 'x.txt'), 'more');
    fs.mkdirSync(path.join(root, 'new'));
    fs.writeFileSync(path.join(root, 'new', 'n.txt'), 'n');
    fs.rmSync(path.join(root, 'top.txt'));
    const second = await j.cut('snap-1', false);
    expect(second.trusted).toBe(true);
    expect([...second.paths!].sort()).toEqual(expect.arrayContaining(['a/deep/x.txt', 'new', 'top.txt']));
    second.commit('snap-2');

    // A backup whose parent is not the journal's base (made elsewhere) must not use it.
    fs.writeFileSync(path.join(root, 'a', 'later.txt'), 'later');
    const elsewhere = await j.cut('snap-1', false);
    expect(elsewhere).toMatchObject({ trusted: false, reason: expect.stringMatching(/not the one the journal continues from/) });
    elsewhere.abort(); // a failed backup: its paths come back for the next one
    const again = await j.cut('snap-2', false);
    expect(again).toMatchObject({ trusted: true });
    expect(again.paths).toContain('a/later.txt');

    const full = await j.cut('snap-2', true);
    expect(full).toMatchObject({ trusted: false, reason: 'a full backup was requested' });
  });

  it('has a gap when fswatch dies: the next backup scans in full and says why, and the journal is trusted again after it', async () => {
    const j = journal();
    await j.start();
    (await j.cut(undefined, false)).commit('s1');
    process.kill(j.status().watcherPid!, 'SIGKILL');
    await until(() => j.status().state === 'gap');
    fs.writeFileSync(path.join(root, 'lost.txt'), 'changed while nobody watched');
    await until(() => j.status().state === 'watching'); // restarted
    const afterGap = await j.cut('s1', false);
    expect(afterGap).toMatchObject({ trusted: false, reason: expect.stringMatching(/gap: fswatch exited \(SIGKILL\)/) });
    afterGap.commit('s2');
    fs.writeFileSync(path.join(root, 'seen.txt'), 'seen');
    const next = await j.cut('s2', false);
    expect(next).toMatchObject({ trusted: true, paths: ['seen.txt'] });
  });

  it('has a gap when the kernel’s inotify queue overflows', async () => {
    const knob = '/proc/sys/fs/inotify/max_queued_events';
    const before = fs.readFileSync(knob, 'utf8').trim();
    const j = journal();
    fs.writeFileSync(knob, '64'); // read once, when fswatch creates its inotify instance
    try {
      await j.start();
    } finally {
      fs.writeFileSync(knob, before);
    }
    (await j.cut(undefined, false)).commit('s1');
    const pid = j.status().watcherPid!;
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, `burst-${i}.txt`), String(i));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until(() => j.status().state !== 'watching' || j.status().reason !== undefined);
    const cut = await j.cut('s1', false);
    expect(cut).toMatchObject({ trusted: false, reason: expect.stringMatching(/overflowed/) });
  });

  it('scans in full every Nth backup when asked, and when too many paths changed', async () => {
    const j = journal({ fullScanEvery: 3, maxPaths: 5 });
    await j.start();
    (await j.cut(undefined, false)).commit('s1');
    const first = await j.cut('s1', false);
    expect(first.trusted).toBe(true);
    first.commit('s2');
    const second = await j.cut('s2', false);
    expect(second.trusted).toBe(true);
    second.commit('s3');
    const third = await j.cut('s3', false);
    expect(third).toMatchObject({ trusted: false, reason: 'a periodic full scan (every 3 backups)' });
    third.commit('s4');
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(root, `many-${i}.txt`), 'x');
    const many = await j.cut('s4', false);
    expect(many).toMatchObject({ trusted: false, reason: expect.stringMatching(/more than 5/) });
  });

  it('is never trusted when the root is replaced or fswatch cannot run', async () => {
    const j = journal();
    await j.start();
    (await j.cut(undefined, false)).commit('s1');
    fs.renameSync(root, path.join(dir, 'old-root'));
    fs.mkdirSync(root);
    const replaced = await j.cut('s1', false);
    expect(replaced.trusted).toBe(false);
    expect(replaced.reason).toMatch(/replaced|moved or removed/);

    const missing = journal({ command: path.join(dir, 'no-such-fswatch') });
    await missing.start();
    expect(missing.status()).toMatchObject({ state: 'gap', reason: expect.stringMatching(/not installed \(apt-get install fswatch\)/) });
    expect(await missing.cut('s1', false)).toMatchObject({ trusted: false });
  });
});

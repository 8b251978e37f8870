import { createHash, randomBytes } from 'node:crypto';
import { ResumableSha256 } from './resumable-sha256';

describe('ResumableSha256', () => {
  it('gives node:crypto\'s SHA-256 for lengths around every block boundary', () => {
    const data = randomBytes(300);
    for (let n = 0; n <= 300; n++) {
      expect(new ResumableSha256().update(data.subarray(0, n)).digestHex()).toBe(createHash('sha256').update(data.subarray(0, n)).digest('hex'));
    }
  });

  it('resumes from an exported state at any split, and digesting leaves the state usable', () => {
    const data = randomBytes(5000);
    const want = createHash('sha256').update(data).digest('hex');
    for (const cut of [0, 1, 63, 64, 65, 127, 128, 1000, 4999, 5000]) {
      const first = new ResumableSha256().update(data.subarray(0, cut));
      first.digestHex(); // must not disturb the state
      const resumed = ResumableSha256.fromState(first.exportState());
      expect(resumed.bytes).toBe(cut);
      expect(resumed.update(data.subarray(cut)).digestHex()).toBe(want);
    }
  });

  it('refuses a malformed state', () => {
    expect(() => ResumableSha256.fromState('sha256-state-v1:00:1:')).toThrow(TypeError);
    const good = new ResumableSha256().update(Buffer.from('abc')).exportState();
    expect(() => ResumableSha256.fromState(good.replace(':3:', ':4:'))).toThrow(TypeError);
  });
});

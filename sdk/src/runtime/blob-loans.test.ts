import { isSharedArrayBuffer } from 'node:util/types';
import { BlobLoans, POISON_BYTE } from './blob-loans';
import { takeRing } from './shared-ring';

describe('BlobLoans', () => {
  it('lends regions of one shared ring by request seq and takes them back, overwriting them when poisoning', () => {
    const loans = new BlobLoans({ capacity: 1024, poison: true });
    const a = loans.lend(1, 300)!;
    const b = loans.lend(2, 300)!;
    expect(isSharedArrayBuffer(a.buffer)).toBe(true);
    expect(a.buffer).toBe(b.buffer);
    expect([a.length, b.length]).toEqual([300, 300]);
    expect(loans.lent(a)).toBe(true);
    expect(loans.lent(new Uint8Array(300))).toBe(false);
    a.fill(1);
    b.fill(2);
    expect(loans.outstanding).toBe(2);
    loans.giveBack(1); // in any order
    expect(a.every((x) => x === POISON_BYTE)).toBe(true);
    expect(b.every((x) => x === 2)).toBe(true);
    loans.giveBack(2);
    expect(loans.outstanding).toBe(0);
    loans.close();
  });

  it('never waits: no room now, a blob larger than the ring, or a closed lender gives undefined (answer with a buffer of its own)', () => {
    const loans = new BlobLoans({ capacity: 1000 });
    expect(loans.lend(1, 1001)).toBeUndefined();
    expect(loans.lend(2, 600)).toHaveLength(600);
    expect(loans.lend(3, 600)).toBeUndefined(); // 400 left
    expect(loans.lend(4, 400)).toHaveLength(400);
    loans.giveBack(2);
    expect(loans.lend(5, 600)).toHaveLength(600); // room again once given back
    loans.close();
    expect(loans.lend(6, 10)).toBeUndefined();
  });

  it('refuses a release for a request with nothing on loan (E_PROTOCOL naming it), and a second loan for one request', () => {
    const loans = new BlobLoans({ capacity: 1000 });
    loans.lend(7, 10);
    expect(() => loans.lend(7, 10)).toThrow(RangeError);
    loans.giveBack(7);
    expect(() => loans.giveBack(7)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringContaining('request 7') }));
    expect(() => loans.giveBack(99)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringContaining('request 99') }));
  });

  it("returns its ring to the thread's pool on close only when nothing is on loan", () => {
    const capacity = 4096 + 17; // a size no other test in this thread uses
    const clean = new BlobLoans({ capacity });
    const region = clean.lend(1, 100)!;
    clean.giveBack(1);
    clean.close();
    expect(takeRing(capacity).holds(region)).toBe(true); // the same ring, reused

    const leaky = new BlobLoans({ capacity });
    const held = leaky.lend(1, 100)!;
    leaky.close(); // a loan is still out: the worker may still read it
    expect(takeRing(capacity).holds(held)).toBe(false);
  });
});

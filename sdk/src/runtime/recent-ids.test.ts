import { KNOWN_IDS_LIMIT, RecentIds } from './recent-ids';

describe('RecentIds', () => {
  it('says whether an id is new, keeps ids used again, and forgets the oldest beyond the limit', () => {
    const ids = new RecentIds();
    expect(ids.add('a')).toBe(true);
    expect(ids.add('a')).toBe(false);
    for (let i = 0; i < KNOWN_IDS_LIMIT / 2; i++) ids.add(`x${i}`); // 'a' is in the older generation now
    expect(ids.add('a')).toBe(false); // used again: back in the newer one
    for (let i = 0; i < KNOWN_IDS_LIMIT / 2; i++) ids.add(`y${i}`);
    expect(ids.add('a')).toBe(false); // survived a second turn because it was used
    expect(ids.add('x0')).toBe(true); // not used since: forgotten
  });
});

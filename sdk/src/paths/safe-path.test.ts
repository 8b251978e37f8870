import * as os from 'node:os';
import * as path from 'node:path';
import { resolveInside, splitSafePath } from './safe-path';

describe('resolveInside', () => {
  const target = path.join(os.tmpdir(), 'restore-target');

  it('joins safe relative paths under the target', () => {
    expect(resolveInside(target, 'etc/hosts')).toBe(path.join(target, 'etc', 'hosts'));
    expect(resolveInside(target + '/', 'a')).toBe(path.join(target, 'a'));
    expect(resolveInside(target, '..hidden/x..y')).toBe(path.join(target, '..hidden', 'x..y'));
    expect(resolveInside(target, 'back\\slash')).toBe(path.join(target, 'back\\slash'));
  });

  it.each(['', '/etc/passwd', '..', '../x', 'a/../../x', 'a/./b', 'a//b', 'a/', '.', 'a\0b'])('refuses %j with E_UNSAFE_PATH', (bad) => {
    expect(() => resolveInside(target, bad)).toThrow(expect.objectContaining({ code: 'E_UNSAFE_PATH' }));
  });

  it('names the path at fault', () => {
    expect(() => resolveInside(target, 'a/../../etc')).toThrow(/"a\/\.\.\/\.\.\/etc".*"\.\."/);
    expect(splitSafePath('a/b/c')).toEqual(['a', 'b', 'c']);
  });
});

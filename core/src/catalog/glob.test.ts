import { compilePattern } from './glob';

describe('find patterns', () => {
  const matches = (pattern: string, paths: string[]) => paths.filter((p) => compilePattern(pattern).regex.test(p));

  it('match a name at any depth when the pattern has no slash', () => {
    expect(matches('*.pdf', ['a.pdf', 'x/y/b.pdf', 'a.pdfx', 'pdf', 'dir.pdf/c'])).toEqual(['a.pdf', 'x/y/b.pdf']);
    expect(compilePattern('*.pdf').nameGlob).toBe('*.pdf');
  });

  it('anchor patterns with a slash at the root, * never crossing a slash', () => {
    expect(matches('docs/*.md', ['docs/a.md', 'docs/x/a.md', 'x/docs/a.md'])).toEqual(['docs/a.md']);
    expect(matches('/etc/passwd', ['etc/passwd', 'x/etc/passwd'])).toEqual(['etc/passwd']);
  });

  it('use ** for any number of directories', () => {
    expect(matches('docs/**/report*', ['docs/report', 'docs/a/b/report-1', 'docs/a/xreport', 'other/docs/report'])).toEqual(['docs/report', 'docs/a/b/report-1']);
    expect(matches('**/cache', ['cache', 'a/cache', 'a/b/cache', 'a/cachex'])).toEqual(['cache', 'a/cache', 'a/b/cache']);
    expect(matches('docs/**', ['docs', 'docs/a', 'docs/a/b', 'docsx/a'])).toEqual(['docs/a', 'docs/a/b']);
    expect(compilePattern('docs/**').nameGlob).toBeUndefined();
    expect(matches('**', ['a', 'a/b'])).toEqual(['a', 'a/b']);
  });

  it('support ?, character classes, negation and escapes', () => {
    expect(matches('file?.txt', ['file1.txt', 'file12.txt', 'a/file/.txt'])).toEqual(['file1.txt']);
    expect(matches('[ab]*.c', ['a1.c', 'b.c', 'c.c'])).toEqual(['a1.c', 'b.c']);
    expect(matches('[!ab]*.c', ['a1.c', 'c.c'])).toEqual(['c.c']);
    expect(matches('x[0-9].log', ['x5.log', 'xa.log'])).toEqual(['x5.log']);
    expect(matches('\\*star', ['*star', 'xstar'])).toEqual(['*star']);
    expect(compilePattern('\\*star').nameGlob).toBe('[*]star');
    expect(compilePattern('[!ab]*.c').nameGlob).toBe('[^ab]*.c');
    expect(matches('a[b', ['a[b', 'ab'])).toEqual(['a[b']);
  });

  it('tell a walk which directories can hold matches of an anchored pattern', () => {
    const may = compilePattern('docs/2*/*.pdf').mayContainMatches!;
    expect(['', 'docs', 'docs/2024', 'docs/x', 'other', 'docs/2024/sub'].filter(may)).toEqual(['', 'docs', 'docs/2024']);
    const deep = compilePattern('docs/**/x').mayContainMatches!;
    expect(['', 'docs', 'docs/a/b/c', 'src'].filter(deep)).toEqual(['', 'docs', 'docs/a/b/c']);
    expect(compilePattern('**/x').mayContainMatches).toBeUndefined();
    expect(compilePattern('*.pdf').mayContainMatches).toBeUndefined();
  });

  it('match directories only with a trailing slash, and reject empty patterns', () => {
    expect(compilePattern('build/').dirsOnly).toBe(true);
    expect(() => compilePattern('')).toThrow(/empty/);
    expect(() => compilePattern('a//b')).toThrow(/empty path segment/);
  });
});

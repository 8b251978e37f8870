import { TranslatorTester } from './translator-tester';
import { resolveOptions } from './tester-options';
import type { TranslatorTesterOptions } from './tester-options';

const fixture = { name: 'f', build: () => undefined };
const make = (o: Partial<TranslatorTesterOptions>) => () => new TranslatorTester({ packageDir: '/p', fixtures: [fixture], ...o } as TranslatorTesterOptions);

describe('TranslatorTester options', () => {
  it('refuses bad options up front, naming the field', () => {
    expect(make({ fixtures: [] })).toThrow('TranslatorTester: options.fixtures must list at least one fixture');
    expect(make({ fixtures: [fixture, fixture] })).toThrow('TranslatorTester: options.fixtures has two entries named "f"');
    expect(make({ mutations: [{ name: 'm' } as never] })).toThrow('TranslatorTester: options.mutations[0] ("m") needs a apply function');
    expect(make({ invalidSources: [{ name: 'i', build: () => undefined, expect: 'E_NOPE' as never }] })).toThrow('invalidSources[0].expect has "E_NOPE", which is not an error code of the catalogue');
    expect(make({ cancelPoints: 0 })).toThrow(RangeError);
    expect(make({ timeouts: { cancelMs: -1 } })).toThrow('options.timeouts.cancelMs must be a positive number of milliseconds, got -1');
  });

  it('freezes (a copy of) fixtures and their options deeply, so a callback or plugin that mutates them fails', () => {
    const options = { exclude: ['a'] };
    const resolved = resolveOptions({ packageDir: '/p', fixtures: [{ ...fixture, options }] });
    const frozen = resolved.fixtures[0]!;
    expect(Object.isFrozen(frozen) && Object.isFrozen(frozen.options) && Object.isFrozen(frozen.options!.exclude)).toBe(true);
    expect(() => (frozen.options!.exclude as string[]).push('b')).toThrow(/object is not extensible/);
    options.exclude.push('c');
    expect(frozen.options).toEqual({ exclude: ['a'] }); // the tester took its own copy
  });

  it('uses the global describe and it of the test runner when none are given', () => {
    const g = globalThis as { describe: unknown; it: unknown; afterAll: unknown };
    const saved = [g.describe, g.it, g.afterAll];
    const names: string[] = [];
    const hooks: unknown[] = [];
    g.describe = (_t: string, body: () => void) => body();
    g.it = (name: string) => names.push(name);
    g.afterAll = (hook: unknown) => hooks.push(hook);
    try {
      new TranslatorTester({ packageDir: '/nowhere', fixtures: [fixture] }).run();
    } finally {
      [g.describe, g.it, g.afterAll] = saved;
    }
    expect(names[0]).toBe('manifest and capabilities');
    expect(names).toContain('round trip [f]');
    expect(hooks).toHaveLength(1); // closes the host after the cases
  });
});

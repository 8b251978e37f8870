import { KNOWN_CAPABILITIES } from '../manifest/manifest';
import { CAPABILITY_CHECKS, capabilityCheck, methodCapabilityProblems } from './capabilities';

describe('the capability table', () => {
  it('has an explicit check for every capability the manifest accepts today', () => {
    expect(KNOWN_CAPABILITIES.filter((c) => CAPABILITY_CHECKS[c] === undefined)).toEqual([]);
  });

  it('treats a capability newer than the table as an optional translator method of the same name', () => {
    expect(capabilityCheck('discover')).toEqual({ kind: 'method', method: 'discover' });
    expect(capabilityCheck('list-datasets')).toEqual({ kind: 'method', method: 'listDatasets' });
    const translator = { backup: async () => undefined, restore: async () => undefined, discover: async () => [] };
    expect(methodCapabilityProblems(['discover'], translator)).toEqual([]);
    expect(methodCapabilityProblems([], translator)).toEqual([]); // an unknown, undeclared method is nobody's business
    expect(methodCapabilityProblems(['discover'], { backup: translator.backup, restore: translator.restore })).toEqual([
      "the manifest declares capability 'discover', but the translator has no discover() method",
    ]);
  });
});

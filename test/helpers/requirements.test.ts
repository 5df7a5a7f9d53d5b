// The root hook that skips suites whose requirement (root, etcd) is missing, on a tree of plain suites.
import { expect } from 'chai';
import { skipSuites } from './requirements.js';

interface S {
  title: string;
  pending: boolean;
  suites: S[];
}
const suite = (title: string, suites: S[] = []): S => ({ title, pending: false, suites });

describe('test requirements: suites skipped with a reason', () => {
  it('marks only the suites carrying a missing tag as pending, and says why', () => {
    const netns = suite('vxlan on hosts @netns', [suite('inner')]);
    const etcd = suite('registry @etcd');
    const plain = suite('unit', [suite('deeper @netns')]);
    const root = suite('', [netns, etcd, plain]);
    const lines = skipSuites(root, new Map([['@netns', 'not root']]));
    expect(netns.pending).to.equal(true);
    expect(etcd.pending).to.equal(false);
    expect(plain.pending).to.equal(false);
    expect(plain.suites[0]!.pending).to.equal(true);
    expect(lines).to.deep.equal(['vxlan on hosts @netns: not root', 'deeper @netns: not root']);
  });

  it('skips nothing when nothing is missing', () => {
    const root = suite('', [suite('a @netns @etcd')]);
    expect(skipSuites(root, new Map())).to.deep.equal([]);
    expect(root.suites[0]!.pending).to.equal(false);
  });
});

// The extension backend's part of the network config: the reference's four command keys.
import { expect } from 'chai';
import { ExtensionConfigError, parseExtensionConfig } from '../../../backends/extension/config.js';

describe('extension backend: config', () => {
  it('reads the four command keys case-insensitively; all optional; other keys ignored, as the reference', () => {
    expect(parseExtensionConfig({ Type: 'extension', subnetaddcommand: 'a', SubnetRemoveCommand: 'r', ShutdownCommand: 'x' })).to.deep.equal({ preStartup: '', postStartup: '', subnetAdd: 'a', subnetRemove: 'r' });
    expect(parseExtensionConfig({ PRESTARTUPCOMMAND: 'p', PostStartupCommand: null })).to.deep.equal({ preStartup: 'p', postStartup: '', subnetAdd: '', subnetRemove: '' });
  });

  it('refuses a command that is not a string, naming the field', () => {
    for (const field of ['PreStartupCommand', 'PostStartupCommand', 'SubnetAddCommand', 'SubnetRemoveCommand']) {
      const err = (() => {
        try {
          parseExtensionConfig({ [field]: ['ip', 'route'] });
          return null;
        } catch (e) {
          return e as ExtensionConfigError;
        }
      })();
      expect(err).to.be.instanceOf(ExtensionConfigError);
      expect(err!.field).to.equal(`Backend.${field}`);
      expect(err!.message).to.equal(`extension backend: ${field} must be a string (a shell command), got ["ip","route"]`);
    }
  });
});

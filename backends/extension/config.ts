// The extension backend's part of the network config: four optional command strings (keys
// case-insensitive, like Go's decoder). The reference has no IPv6 variants; other keys are ignored.
import { getField } from '../../common/json.js';

export class ExtensionConfigError extends Error {
  override readonly name = 'ExtensionConfigError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export interface ExtensionConfig {
  preStartup: string;
  postStartup: string;
  subnetAdd: string;
  subnetRemove: string;
}

function command(obj: Record<string, unknown>, field: string): string {
  const v = getField(obj, field);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ExtensionConfigError(`extension backend: ${field} must be a string (a shell command), got ${JSON.stringify(v)}`, `Backend.${field}`);
  return v;
}

export function parseExtensionConfig(backend: Record<string, unknown>): ExtensionConfig {
  return {
    preStartup: command(backend, 'PreStartupCommand'),
    postStartup: command(backend, 'PostStartupCommand'),
    subnetAdd: command(backend, 'SubnetAddCommand'),
    subnetRemove: command(backend, 'SubnetRemoveCommand'),
  };
}

/** A start-up problem the operator must fix; main prints its message as the one fatal line and exits 1. */
export class FatalError extends Error {
  override readonly name = 'FatalError';
}

/**
 * "invalid network config: <field> …" for a config error (the network config's or a backend's part of
 * it): the field first, never the error's class name.
 */
export function invalidConfigMessage(message: string, field?: string): string {
  const text = field && !message.startsWith(field) ? `${field}: ${message}` : message;
  return `invalid network config: ${text}`;
}

/** A config error of any layer: an Error whose class is a *ConfigError (they carry the field). */
export function isConfigError(e: unknown): e is Error & { field?: string } {
  return e instanceof Error && e.name.endsWith('ConfigError');
}

// The logging surface every part is handed: flanneld's logger (flanneld/log.ts) implements it, and tests
// can pass a recorder. Parts log state changes under their own name (flanneld creates one child logger per part).
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  /** Verbose detail, shown with -v 1 and above. */
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** A start-up problem the operator must fix; main prints its message as the one fatal line and exits 1. */
export class FatalError extends Error {
  override readonly name = 'FatalError';
}

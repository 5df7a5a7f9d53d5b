// CNI errors. A plugin reports failure as one JSON object on stdout and a non-zero exit; the codes
// are the CNI spec's well-known ones (0-99), plus libcni's 999 for "internal", which is what the
// reference plugin's skel answers for any failure that is not a CNI error already.

/** Well-known CNI error codes (CNI spec, "Error"), and libcni's ErrInternal. */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  Internal: 999,
} as const;

/** A failure to report to the runtime: `code`, a short `msg`, and `details` for the operator. */
export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details = '',
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }

  /** The error JSON of the CNI spec, for the config's CNI version. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details: string } {
    return { cniVersion, code: this.code, msg: this.msg, details: this.details };
  }
}

/** The reason of an unknown thrown value, for `details`. */
export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

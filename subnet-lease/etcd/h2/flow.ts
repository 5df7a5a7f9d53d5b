// Our receive windows (RFC 9113 §6.9). What arrives is handed on at once, so the windows bound nothing we
// hold: they are large, so that a listing of 10000 leases (~3 MB) never waits for a WINDOW_UPDATE, and
// the credit goes back to the server once half of a window is used.

export const STREAM_WINDOW = 4 << 20;
export const CONNECTION_WINDOW = 8 << 20;

/** One receive window, the connection's or a stream's. */
export class ReceiveWindow {
  private available: number;
  private unacked = 0;

  constructor(private readonly size: number) {
    this.available = size;
  }

  /** Counts `n` received bytes (padding included); false when the peer sent beyond the window. */
  receive(n: number): boolean {
    this.available -= n;
    this.unacked += n;
    return this.available >= 0;
  }

  /** The WINDOW_UPDATE increment due now, counted as given back; 0 while less than half is used. */
  takeUpdate(): number {
    if (this.unacked < this.size / 2) return 0;
    const increment = this.unacked;
    this.unacked = 0;
    this.available += increment;
    return increment;
  }
}

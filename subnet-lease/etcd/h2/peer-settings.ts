// The server's SETTINGS (RFC 9113 §6.5): validated, kept, and what changed reported to the session.
import { ConnectionError, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, ErrorCode, MAX_WINDOW, Setting } from './frames.js';

/** What a SETTINGS frame changed that the session must act on. */
export interface SettingsChange {
  /** Added to every open stream's send window (the initial window changed; may be negative). */
  windowDelta: number;
}

export class PeerSettings {
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  initialWindow = DEFAULT_WINDOW;
  maxStreams = Infinity;

  /** Applies a SETTINGS payload (not an ACK); throws ConnectionError on a malformed frame or value. */
  apply(payload: Buffer): SettingsChange {
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
    const change: SettingsChange = { windowDelta: 0 };
    for (let off = 0; off < payload.length; off += 6) this.one(payload.readUInt16BE(off), payload.readUInt32BE(off + 2), change);
    return change;
  }

  private one(id: number, value: number, change: SettingsChange): void {
    switch (id) {
      // HEADER_TABLE_SIZE needs nothing: our encoder's table is 0 bytes (hpack.ts).
      case Setting.ENABLE_PUSH:
        if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
        return;
      case Setting.MAX_CONCURRENT_STREAMS:
        this.maxStreams = value;
        return;
      case Setting.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`);
        change.windowDelta += value - this.initialWindow;
        this.initialWindow = value;
        return;
      case Setting.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xff_ffff) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value}`);
        this.maxFrameSize = value;
        return;
      default: // Unknown settings are ignored (§6.5.2).
    }
  }
}

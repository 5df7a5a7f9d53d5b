// A Logger that keeps every line, so tests can assert what was warned about (and what never appears).
import type { Logger } from '../../common/log.js';

export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  meta?: Record<string, unknown>;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];

  error(message: string, meta?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, meta });
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, meta });
  }
  info(message: string, meta?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, meta });
  }
  debug(message: string, meta?: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', message, meta });
  }

  /** Messages at `level` (all levels when omitted). */
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => !level || l.level === level).map((l) => l.message);
  }

  /** Whether a line at `level` matches `re`. */
  has(level: LogLine['level'], re: RegExp): boolean {
    return this.lines.some((l) => l.level === level && re.test(l.message));
  }

  /** Every line as it would be written (message plus metadata), for "this never appears" checks. */
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.meta ?? {})}`).join('\n');
  }
}

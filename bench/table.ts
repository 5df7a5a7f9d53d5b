// The performance table of the README: every benchmark returns rows, `npm run bench` prints them all as
// one markdown table at the end, so the README's figures are pasted from one run, never typed.
export interface Row {
  /** What was measured, e.g. "cold start, 5000 leases: all entries in the kernel". */
  what: string;
  /** flannel-ts's figure, with its unit. */
  ours: string;
  /** The baseline measured in the same run, naming what it is. */
  baseline: string;
  /** The goal, or "" when there is none. */
  goal: string;
  /** Whether the goal is met; undefined when there is no goal. */
  met?: boolean;
}

export function markdownTable(rows: readonly Row[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| what | flannel-ts | baseline (same run) | goal |', '|---|---|---|---|'];
  for (const r of rows) {
    const goal = r.goal === '' ? '' : `${r.goal} ${r.met === undefined ? '' : r.met ? '✓' : '✗ (not met)'}`.trim();
    lines.push(`| ${cell(r.what)} | ${cell(r.ours)} | ${cell(r.baseline)} | ${cell(goal)} |`);
  }
  return lines.join('\n');
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

// CPU time of a process from /proc/<pid>/stat, in clock ticks: its own (utime + stime) and that of
// its waited-for children (cutime + cstime).
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface CpuTicks {
  self: number;
  children: number;
}

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export async function cpuTicks(pid: number): Promise<CpuTicks> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // f[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  return { self: f[11]! + f[12]!, children: f[13]! + f[14]! };
}

/** Millicores used between two readings `seconds` apart. */
export function millicores(a: number, b: number, seconds: number): number {
  return ((b - a) / CLK_TCK / seconds) * 1000;
}

// iptables mode for one address family (iptables or ip6tables), fact sheet §7. Differences from the
// reference, all in the direction of "the rules end up exactly as specified":
// - one `iptables-restore --noflush` payload per check creates or flushes our chains (`:CHAIN - [0:0]`),
//   removes every copy of our jump and every other rule with our comment from the built-in chain, and
//   appends the rules in order; so a chain with a foreign, missing, duplicated or misordered rule is
//   rebuilt, where the reference only notices missing ones (#1337);
// - the check reads `iptables-save -t <table>` once instead of running `iptables -C` per rule.
// Rules for an old network or subnet live in our chains and go with their flush.
import type { CommandRunner } from './exec.js';
import { type IpFamily, type IptRule, type RuleSet, FWD_CHAIN, FWD_COMMENT, MASQ_CHAIN, MASQ_COMMENT, ruleLine, specText } from './rules.js';

/** The chains and rules of one table in iptables-save output. */
export interface SavedTable {
  chains: Set<string>;
  /** chain → rule texts after `-A <chain> `, in order. */
  rules: Map<string, string[]>;
}

export function parseSave(text: string): SavedTable {
  const chains = new Set<string>();
  const rules = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) chains.add(line.slice(1).split(' ')[0]!);
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const list = rules.get(m[1]!) ?? [];
    list.push(m[2]!);
    rules.set(m[1]!, list);
  }
  return { chains, rules };
}

const commentOf = (comment: string): string => `--comment "${comment}"`;

/** What is wrong with `set` in `table`; empty when every rule is in place, once, in order. */
export function ruleSetProblems(table: SavedTable, set: RuleSet): string[] {
  const problems: string[] = [];
  const [jump, ...inner] = set.rules as [IptRule, ...IptRule[]];
  if (!table.chains.has(set.chain)) problems.push(`chain ${set.chain} is missing`);
  const ours = (table.rules.get(set.hook) ?? []).filter((r) => r.includes(commentOf(set.comment)));
  const jumps = ours.filter((r) => r === specText(jump.spec)).length;
  if (jumps === 0) problems.push(`the jump from ${set.hook} to ${set.chain} is missing`);
  if (jumps > 1) problems.push(`the jump from ${set.hook} to ${set.chain} is there ${jumps} times`);
  if (ours.length > jumps) problems.push(`${set.hook} holds ${ours.length - jumps} stale rule(s) with comment "${set.comment}"`);
  const want = inner.map((r) => specText(r.spec));
  const have = table.rules.get(set.chain) ?? [];
  if (table.chains.has(set.chain) && (have.length !== want.length || have.some((r, i) => r !== want[i]))) {
    const missing = want.filter((r) => !have.includes(r)).length;
    const extra = have.filter((r) => !want.includes(r)).length;
    problems.push(`${set.chain} differs from the expected ${want.length} rules (${missing} missing, ${extra} foreign, or out of order)`);
  }
  return problems;
}

/** The restore lines (without *table/COMMIT) that rebuild `set` from whatever `table` holds now. */
export function bootstrapLines(table: SavedTable, set: RuleSet): string[] {
  const lines = [`:${set.chain} - [0:0]`]; // creates the chain, or flushes it under --noflush
  for (const r of table.rules.get(set.hook) ?? []) {
    if (r.includes(commentOf(set.comment))) lines.push(`-D ${set.hook} ${r}`);
  }
  return [...lines, ...set.rules.map((r) => ruleLine(r))];
}

/** The restore lines that remove our rules and chains (for one table) completely. */
export function cleanupLines(table: SavedTable, hook: string, chain: string, comment: string): string[] {
  const lines: string[] = [];
  for (const r of table.rules.get(hook) ?? []) {
    if (r.includes(commentOf(comment)) || r.endsWith(`-j ${chain}`)) lines.push(`-D ${hook} ${r}`);
  }
  if (table.chains.has(chain)) lines.push(`-F ${chain}`, `-X ${chain}`);
  return lines;
}

export function restorePayload(blocks: ReadonlyMap<string, readonly string[]>): string {
  let out = '';
  for (const [table, lines] of blocks) if (lines.length > 0) out += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  return out;
}

interface Features {
  /** iptables-restore takes --wait (>= 1.6.2). */
  wait: boolean;
  /** MASQUERADE --random-fully exists (>= 1.6.2). */
  randomFully: boolean;
}

function atLeast162(version: string): boolean {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return a > 1 || (a === 1 && (b > 6 || (b === 6 && c >= 2)));
}

/** The iptables (family 4) or ip6tables (family 6) commands of this network namespace. */
export class IptablesFamily {
  private readonly bin: string;
  private features?: Features;
  /** One restore at a time: a resync must not interleave with a set-up. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly family: IpFamily,
    private readonly runner: CommandRunner,
  ) {
    this.bin = family === 4 ? 'iptables' : 'ip6tables';
  }

  /** Probes `iptables --version` once; rejects with CommandError when the command is missing. */
  async probe(): Promise<Features> {
    if (!this.features) {
      const v = await this.runner.run(this.bin, ['--version']);
      this.features = { wait: atLeast162(v), randomFully: atLeast162(v) };
    }
    return this.features;
  }

  async readTable(table: string): Promise<SavedTable> {
    return parseSave(await this.runner.run(`${this.bin}-save`, ['-t', table]));
  }

  async restore(payload: string): Promise<void> {
    const f = await this.probe();
    await this.runner.run(`${this.bin}-restore`, f.wait ? ['--noflush', '--wait'] : ['--noflush'], payload);
  }

  /**
   * Checks every set and rebuilds, in one payload, those that are not exactly in place. Resolves with
   * the problems found (empty: nothing was changed). Calls are serialized.
   */
  ensure(sets: readonly RuleSet[]): Promise<string[]> {
    const task = this.queue.then(() => this.ensureNow(sets));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async ensureNow(sets: readonly RuleSet[]): Promise<string[]> {
    const saved = new Map<string, SavedTable>();
    for (const s of sets) if (!saved.has(s.table)) saved.set(s.table, await this.readTable(s.table));
    const problems: string[] = [];
    const blocks = new Map<string, string[]>();
    for (const s of sets) {
      const p = ruleSetProblems(saved.get(s.table)!, s);
      if (p.length === 0) continue;
      problems.push(...p);
      blocks.set(s.table, [...(blocks.get(s.table) ?? []), ...bootstrapLines(saved.get(s.table)!, s)]);
    }
    if (blocks.size > 0) await this.restore(restorePayload(blocks));
    return problems;
  }

  /**
   * Removes our chains with their jumps: FLANNEL-POSTRTG when `masq`, FLANNEL-FWD when `forward`.
   * Resolves with the lines that removed something (empty: there was nothing of ours).
   */
  async cleanUp(which: { masq: boolean; forward: boolean } = { masq: true, forward: true }): Promise<string[]> {
    const blocks = new Map<string, string[]>();
    if (which.masq) blocks.set('nat', cleanupLines(await this.readTable('nat'), 'POSTROUTING', MASQ_CHAIN, MASQ_COMMENT));
    if (which.forward) blocks.set('filter', cleanupLines(await this.readTable('filter'), 'FORWARD', FWD_CHAIN, FWD_COMMENT));
    const removed = [...blocks.values()].flat().filter((l) => !l.startsWith('-F'));
    if (removed.length > 0) await this.restore(restorePayload(blocks));
    return removed;
  }
}

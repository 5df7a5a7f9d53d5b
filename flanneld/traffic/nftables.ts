// nftables mode (fact sheet §7, `EnableNFTables`): tables `ip flannel-ipv4` and `ip6 flannel-ipv6` with
// the reference's chains and rules, written with `nft -f -` in one transaction. Better than the
// reference (spec README item 7): the same periodic resync as iptables mode. A check lists our table
// and compares it with what the kernel showed right after our own write; any difference (a flushed
// chain, a rule deleted or added by hand, the table gone) rewrites the whole table atomically.
import type { CommandRunner } from './exec.js';
import type { IpFamily } from './rules.js';

export const NFT_TABLE = { 4: { family: 'ip', name: 'flannel-ipv4' }, 6: { family: 'ip6', name: 'flannel-ipv6' } } as const;

/** What one family's table holds: masquerade rules and/or forward rules, or nothing (an empty table). */
export interface NftPlan {
  masq?: { network: string; podCidr: string };
  forward?: { network: string };
}

/** The transaction that (re)creates the family's table with exactly the planned chains and rules. */
export function nftTransaction(family: IpFamily, plan: NftPlan, fullyRandom: boolean): string {
  const { family: fam, name } = NFT_TABLE[family];
  const t = `${fam} ${name}`;
  const lines = [
    `add table ${t} { comment "rules for ${name}" ; }`,
    `delete table ${t}`,
    `add table ${t} { comment "rules for ${name}" ; }`,
  ];
  if (plan.masq) {
    const { network: net, podCidr: pod } = plan.masq;
    const masquerade = fullyRandom ? 'masquerade fully-random' : 'masquerade';
    const multicast = family === 4 ? '224.0.0.0/4' : 'ff00::/8';
    const r = (rule: string): string => `add rule ${t} postrtg ${rule}`;
    lines.push(
      `add chain ${t} postrtg { type nat hook postrouting priority srcnat ; comment "chain to manage traffic masquerading by flannel" ; }`,
      r('meta mark 0x4000 return'),
      r(`${fam} saddr ${pod} ${fam} daddr ${net} return`),
      r(`${fam} saddr ${net} ${fam} daddr ${pod} return`),
      r(`${fam} saddr != ${pod} ${fam} daddr ${net} return`),
      r(`${fam} saddr ${net} ${fam} daddr != ${multicast} ${masquerade}`),
      r(`${fam} saddr != ${net} ${fam} daddr ${net} ${masquerade}`),
    );
  }
  if (plan.forward) {
    const net = plan.forward.network;
    lines.push(
      `add chain ${t} forward { type filter hook forward priority filter ; comment "chain to accept flannel traffic" ; }`,
      `add rule ${t} forward ${fam} saddr ${net} accept`,
      `add rule ${t} forward ${fam} daddr ${net} accept`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One family's flannel table. */
export class NftFamily {
  /** `nft list table` right after our last write; null before the first. */
  private written: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly family: IpFamily,
    private readonly runner: CommandRunner,
  ) {}

  private get table(): string {
    return `${NFT_TABLE[this.family].family} ${NFT_TABLE[this.family].name}`;
  }

  /** Whether `masquerade fully-random` is accepted here (a dry run, as the reference does). */
  async fullyRandomSupported(): Promise<boolean> {
    const t = this.table;
    const probe = `add table ${t}\nadd chain ${t} masqueradeTest { type nat hook postrouting priority srcnat ; }\nadd rule ${t} masqueradeTest ${NFT_TABLE[this.family].family} saddr != ${this.family === 4 ? '127.0.0.1' : '::1'} masquerade fully-random\n`;
    return this.runner.run('nft', ['-c', '-f', '-'], probe).then(
      () => true,
      () => false,
    );
  }

  /** The table as `nft list table` prints it; null when it does not exist. */
  async list(): Promise<string | null> {
    try {
      return await this.runner.run('nft', ['list', 'table', ...this.table.split(' ')]);
    } catch (e) {
      if ((e as { notInstalled?: boolean }).notInstalled) throw e;
      return null;
    }
  }

  /**
   * Writes the table when it differs from our last write (or was never written). Resolves with the
   * problems found; empty means nothing was changed. Calls are serialized.
   */
  ensure(plan: NftPlan, fullyRandom: boolean, force = false): Promise<string[]> {
    const task = this.queue.then(() => this.ensureNow(plan, fullyRandom, force));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async ensureNow(plan: NftPlan, fullyRandom: boolean, force: boolean): Promise<string[]> {
    const now = await this.list();
    let problem: string | null = null;
    if (now === null) problem = `table ${this.table} is missing`;
    else if (force || this.written === null) problem = this.written === null ? `table ${this.table} not written yet` : 'rules changed';
    else if (now !== this.written) problem = `table ${this.table} differs from what flanneld wrote`;
    if (problem === null) return [];
    await this.runner.run('nft', ['-f', '-'], nftTransaction(this.family, plan, fullyRandom));
    this.written = await this.list();
    return [problem];
  }

  /** Deletes our table if it exists; resolves true when there was one. */
  async cleanUp(): Promise<boolean> {
    if ((await this.list()) === null) return false;
    await this.runner.run('nft', ['delete', 'table', ...this.table.split(' ')]);
    return true;
  }
}

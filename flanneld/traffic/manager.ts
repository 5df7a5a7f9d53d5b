// The traffic manager: the masquerade and forward rules of fact sheet §7 in the mode the network
// config asks for (iptables by default, nftables with EnableNFTables), kept in place by a check every
// --iptables-resync seconds in both modes. Start-up removes the other mode's chains or tables, and
// our own chains for a feature that is now off or a family no longer in use.
import { repeatEvery } from '../../common/abort.js';
import type { Logger } from '../../common/log.js';
import { type CommandRunner, execRunner } from './exec.js';
import { IptablesFamily } from './iptables.js';
import { NftFamily, type NftPlan } from './nftables.js';
import { type IpFamily, type RuleSet, forwardRuleSet, masqRuleSet } from './rules.js';

export type TrafficMode = 'iptables' | 'nftables';
export type ResyncResult = 'ok' | 'repaired' | 'error';

/** Counters the manager reports to (flanneld's metrics); optional. */
export interface TrafficMetrics {
  ruleCheck(mode: TrafficMode, family: IpFamily, result: ResyncResult): void;
}

/** The flannel network and our lease's subnet of one family, as CIDR text (network address form). */
export interface FamilyTarget {
  family: IpFamily;
  network: string;
  podCidr: string;
}

export interface TrafficOptions {
  mode: TrafficMode;
  ipMasq: boolean;
  forwardRules: boolean;
  randomFullyDisable: boolean;
  /** --iptables-resync, in seconds (>= 1). */
  resyncSeconds: number;
  logger: Logger;
  runner?: CommandRunner;
  metrics?: TrafficMetrics;
}

const FAMILIES: readonly IpFamily[] = [4, 6];

export class TrafficManager {
  private readonly runner: CommandRunner;
  private readonly ipt = new Map<IpFamily, IptablesFamily>();
  private readonly nft = new Map<IpFamily, NftFamily>();
  private targets: FamilyTarget[] = [];
  private fullyRandom = new Map<IpFamily, boolean>();
  private lastError = new Map<IpFamily, string>();
  private inPlace = false;
  private readonly inPlaceWaiters: Array<() => void> = [];

  constructor(private readonly o: TrafficOptions) {
    this.runner = o.runner ?? execRunner;
    for (const f of FAMILIES) {
      this.ipt.set(f, new IptablesFamily(f, this.runner));
      this.nft.set(f, new NftFamily(f, this.runner));
    }
  }

  /** True once every rule set of every family has been in place at least once. */
  get rulesInPlace(): boolean {
    return this.inPlace;
  }

  /** Resolves when the rules are in place (at once if they are). */
  whenInPlace(): Promise<void> {
    return this.inPlace ? Promise.resolve() : new Promise((r) => this.inPlaceWaiters.push(r));
  }

  /**
   * Step 9 of the start-up: removes what the mode not in use left behind (nftables mode: our
   * iptables/ip6tables chains and jumps; iptables mode: the flannel-ipv4/-ipv6 tables). Never throws:
   * a missing command or a failure is logged, as in the reference.
   */
  async cleanUpOtherMode(): Promise<void> {
    const log = this.o.logger;
    for (const f of FAMILIES) {
      try {
        if (this.o.mode === 'nftables') {
          const removed = await this.ipt.get(f)!.cleanUp();
          if (removed.length > 0) log.info(`removed the iptables-mode rules left for IPv${f}`, { removed });
        } else if (await this.nft.get(f)!.cleanUp()) {
          log.info(`removed the nftables-mode table left for IPv${f}`);
        }
      } catch (e) {
        log.debug(`clean-up of the ${this.o.mode === 'nftables' ? 'iptables' : 'nftables'} mode for IPv${f}: ${(e as Error).message}`, { v: 2 });
      }
    }
  }

  /**
   * Step 10: installs the rules for `targets` (one per family in use) and resolves when done; a
   * failure is logged and left to the resync loop, which keeps trying. `previous` is the old
   * subnet.env's network and subnet per family, for the log line and for removing rules of a family
   * that is no longer in use. Call again with new targets when our lease changes.
   */
  async setUp(targets: readonly FamilyTarget[], previous: ReadonlyMap<IpFamily, { network: string | null; subnet: string | null }> = new Map()): Promise<void> {
    this.targets = [...targets];
    for (const t of targets) {
      const prev = previous.get(t.family);
      if (prev && (prev.network !== t.network || prev.subnet !== t.podCidr)) {
        this.o.logger.info(
          `Current network or subnet (${t.network}, ${t.podCidr}) is not equal to previous one (${prev.network}, ${prev.subnet}), trying to recycle old iptables rules`,
        );
      }
      if (!this.fullyRandom.has(t.family)) this.fullyRandom.set(t.family, await this.randomFully(t.family));
    }
    if (this.o.mode === 'iptables') await this.removeUnused(previous);
    await this.checkAll(true);
  }

  /** The resync loop: checks (and repairs) every --iptables-resync seconds until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await repeatEvery(Math.max(1, this.o.resyncSeconds) * 1000, signal, () => this.checkAll(false));
  }

  private async randomFully(family: IpFamily): Promise<boolean> {
    if (this.o.randomFullyDisable || !this.o.ipMasq) return false;
    try {
      if (this.o.mode === 'nftables') {
        const ok = await this.nft.get(family)!.fullyRandomSupported();
        if (!ok) this.o.logger.warn('nftables: random fully unsupported');
        return ok;
      }
      return (await this.ipt.get(family)!.probe()).randomFully;
    } catch {
      return false;
    }
  }

  private ruleSets(t: FamilyTarget): RuleSet[] {
    const sets: RuleSet[] = [];
    if (this.o.ipMasq) sets.push(masqRuleSet(t.family, t.network, t.podCidr, this.fullyRandom.get(t.family) ?? false));
    if (this.o.forwardRules) sets.push(forwardRuleSet(t.network));
    return sets;
  }

  private nftPlan(family: IpFamily): NftPlan {
    const t = this.targets.find((x) => x.family === family);
    if (!t) return {};
    return {
      ...(this.o.ipMasq ? { masq: { network: t.network, podCidr: t.podCidr } } : {}),
      ...(this.o.forwardRules ? { forward: { network: t.network } } : {}),
    };
  }

  /** iptables mode: our chains for a feature that is off, or for a family the old subnet.env had and we no longer use. */
  private async removeUnused(previous: ReadonlyMap<IpFamily, unknown>): Promise<void> {
    for (const f of FAMILIES) {
      const used = this.targets.some((t) => t.family === f);
      const which = { masq: !used || !this.o.ipMasq, forward: !used || !this.o.forwardRules };
      if (!used && !previous.has(f)) continue;
      if (!which.masq && !which.forward) continue;
      try {
        const removed = await this.ipt.get(f)!.cleanUp(which);
        if (removed.length > 0) this.o.logger.info(`removed flannel rules no longer wanted for IPv${f}`, { removed });
      } catch (e) {
        this.o.logger.debug(`could not look for old IPv${f} rules: ${(e as Error).message}`, { v: 2 });
      }
    }
  }

  /** One check of every family; `initial` rewrites nft tables unconditionally (new targets). */
  private async checkAll(initial: boolean): Promise<void> {
    const families = this.o.mode === 'nftables' ? FAMILIES : this.targets.map((t) => t.family);
    let allOk = true;
    for (const f of families) allOk = (await this.checkFamily(f, initial)) && allOk;
    if (allOk && !this.inPlace) {
      this.inPlace = true;
      for (const w of this.inPlaceWaiters.splice(0)) w();
    }
  }

  private async checkFamily(family: IpFamily, initial: boolean): Promise<boolean> {
    const mode = this.o.mode;
    try {
      let problems: string[];
      if (mode === 'nftables') {
        problems = await this.nft.get(family)!.ensure(this.nftPlan(family), this.fullyRandom.get(family) ?? false, initial);
      } else {
        const t = this.targets.find((x) => x.family === family)!;
        const sets = this.ruleSets(t);
        problems = sets.length > 0 ? await this.ipt.get(family)!.ensure(sets) : [];
      }
      this.lastError.delete(family);
      if (!initial) this.o.metrics?.ruleCheck(mode, family, problems.length > 0 ? 'repaired' : 'ok');
      if (problems.length > 0 && !initial) this.o.logger.info(`Some ${mode} rules for IPv${family} were missing or out of place; recreated them`, { problems });
      else if (problems.length > 0) this.o.logger.info(`${mode}: rules for IPv${family} set up`, { problems });
      return true;
    } catch (e) {
      this.o.metrics?.ruleCheck(mode, family, 'error');
      const message = (e as Error).message;
      if (this.lastError.get(family) !== message) this.o.logger.error(`Failed to ensure ${mode} rules for IPv${family}: ${message}`);
      this.lastError.set(family, message);
      return false;
    }
  }
}

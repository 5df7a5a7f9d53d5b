// The reference's iptables rules (fact sheet §7, pkg/trafficmngr/iptables), as data, and their text
// in iptables-save / iptables-restore syntax. Pure: no commands run here.

export type IpFamily = 4 | 6;

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const FWD_CHAIN = 'FLANNEL-FWD';
export const MASQ_COMMENT = 'flanneld masq';
export const FWD_COMMENT = 'flanneld forward';
/** kube-proxy's masquerade mark: packets carrying it are left to kube-proxy (no double NAT). */
export const KUBE_PROXY_MARK = '0x4000/0x4000';

/** One rule: `-A <chain> <spec...>` in `table`. */
export interface IptRule {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  readonly spec: readonly string[];
}

/**
 * A chain of ours and where it hangs: the jump from the built-in `hook` chain plus the rules inside
 * `chain`, in order. The first rule of `rules` is the jump.
 */
export interface RuleSet {
  readonly table: 'nat' | 'filter';
  readonly hook: 'POSTROUTING' | 'FORWARD';
  readonly chain: string;
  readonly comment: string;
  readonly rules: readonly IptRule[];
}

function rule(table: 'nat' | 'filter', chain: string, comment: string, ...parts: string[][]): IptRule {
  // The comment sits right before the target, where go-iptables puts it and iptables-save prints it.
  const target = parts.pop()!;
  return { table, chain, spec: [...parts.flat(), '-m', 'comment', '--comment', comment, ...target] };
}

/**
 * The masquerade rules for one family: `network` is the flannel Network, `podCidr` our lease's subnet
 * (network address form, e.g. 10.244.1.0/24). `randomFully` adds --random-fully to both MASQUERADE rules.
 */
export function masqRuleSet(family: IpFamily, network: string, podCidr: string, randomFully: boolean): RuleSet {
  const multicast = family === 4 ? '224.0.0.0/4' : 'ff00::/8';
  const masq = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  const r = (chain: string, ...parts: string[][]): IptRule => rule('nat', chain, MASQ_COMMENT, ...parts);
  return {
    table: 'nat',
    hook: 'POSTROUTING',
    chain: MASQ_CHAIN,
    comment: MASQ_COMMENT,
    rules: [
      r('POSTROUTING', ['-j', MASQ_CHAIN]),
      r(MASQ_CHAIN, ['-m', 'mark', '--mark', KUBE_PROXY_MARK], ['-j', 'RETURN']),
      r(MASQ_CHAIN, ['-s', podCidr, '-d', network], ['-j', 'RETURN']),
      r(MASQ_CHAIN, ['-s', network, '-d', podCidr], ['-j', 'RETURN']),
      r(MASQ_CHAIN, ['!', '-s', network, '-d', podCidr], ['-j', 'RETURN']),
      r(MASQ_CHAIN, ['-s', network, '!', '-d', multicast], masq),
      r(MASQ_CHAIN, ['!', '-s', network, '-d', network], masq),
    ],
  };
}

/** The FORWARD accept rules for the flannel `network`. */
export function forwardRuleSet(network: string): RuleSet {
  const r = (chain: string, ...parts: string[][]): IptRule => rule('filter', chain, FWD_COMMENT, ...parts);
  return {
    table: 'filter',
    hook: 'FORWARD',
    chain: FWD_CHAIN,
    comment: FWD_COMMENT,
    rules: [r('FORWARD', ['-j', FWD_CHAIN]), r(FWD_CHAIN, ['-s', network], ['-j', 'ACCEPT']), r(FWD_CHAIN, ['-d', network], ['-j', 'ACCEPT'])],
  };
}

/** The rule's text after `-A <chain> ` exactly as iptables-save prints it (the comment quoted). */
export function specText(spec: readonly string[]): string {
  return spec.map((w, i) => (spec[i - 1] === '--comment' ? `"${w}"` : w)).join(' ');
}

/** `-A <chain> <spec>` (or another action), as iptables-save prints it and iptables-restore reads it. */
export function ruleLine(r: IptRule, action: '-A' | '-D' = '-A'): string {
  return `${action} ${r.chain} ${specText(r.spec)}`;
}

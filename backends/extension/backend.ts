// The extension backend (the reference's `extension`, more-facts §2): flanneld leases the subnet and runs
// the operator's commands; the commands do whatever the data path needs (routes, tunnels). flanneld
// itself creates no device, route or rule, so it cannot check or repair what the commands made.
//
// Design note: per remote host, one run of SubnetAddCommand when its lease appears or changes and one of
// SubnetRemoveCommand when it goes (network.ts), with SUBNET and PUBLIC_IP in the environment and the
// lease's BackendData (a string) on stdin. PreStartupCommand's output becomes our BackendData;
// PostStartupCommand runs after the lease is acquired with NETWORK, SUBNET, IPV6SUBNET, PUBLIC_IP,
// PUBLIC_IPV6. Commands run through /bin/sh as the reference documents (its newer versions exec the words
// directly, which breaks the documented examples). Better than the reference: no failing command is
// fatal — each is logged with its exit code and escaped stderr and retried with backoff (the reference
// exits on a failing start-up command and forgets a failing add/remove command); commands for one
// subnet never overlap; a hung command is killed after 60 s, and on shutdown.
import type { Backend, BackendContext, Network } from '../backend.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import type { Lease } from '../../subnet-lease/lease.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import { abortReason, sleep } from '../../common/abort.js';
import { Backoff } from '../../common/backoff.js';
import { parseExtensionConfig } from './config.js';
import { commandSucceeded, describeFailure, escapeOutput, runCommand } from './command.js';
import { ExtensionNetwork, type ExtensionOptions } from './network.js';

export const BACKEND_TYPE = 'extension';
export { ExtensionNetwork, type ExtensionOptions } from './network.js';

/**
 * The backend; `registerNetwork` runs PreStartupCommand, acquires the lease and runs PostStartupCommand,
 * each start-up command until it succeeds. Aborting the signal kills a running command and rejects with
 * the abort reason. Calling it twice runs the start-up commands twice.
 */
export function createExtensionBackend(ctx: BackendContext, options: ExtensionOptions = {}): Backend {
  const untilSuccess = (name: string, cmd: string, vars: Record<string, string>, signal: AbortSignal): Promise<string> =>
    runUntilSuccess(ctx, options, { name, cmd, vars }, signal);
  return {
    async registerNetwork(config: NetworkConfig, signal: AbortSignal): Promise<Network> {
      const cfg = parseExtensionConfig(config.backend);
      let backendData: string | undefined;
      if (cfg.preStartup) {
        // The reference marshals the output even when empty: `"BackendData":""`.
        backendData = await untilSuccess('PreStartupCommand', cfg.preStartup, {}, signal);
        ctx.logger.info(`PreStartupCommand ran; its output is our BackendData: ${escapeOutput(backendData)}`);
      }
      // As the reference: PublicIP is the interface address, and the lease is IPv4 only.
      const attrs = { publicIP: ctx.extIface.ifaceAddr, publicIPv6: null, backendType: BACKEND_TYPE, ...(backendData !== undefined ? { backendData } : {}) };
      const lease = await ctx.store.acquireLease(attrs, signal);
      if (cfg.postStartup) {
        await untilSuccess('PostStartupCommand', cfg.postStartup, postStartupVars(config, lease), signal);
        ctx.logger.info('PostStartupCommand ran');
      }
      return new ExtensionNetwork(ctx, cfg, lease, options);
    },
  };
}

/** The variables of PostStartupCommand, formatted as the reference formats them. */
export function postStartupVars(config: NetworkConfig, lease: Lease): Record<string, string> {
  return {
    NETWORK: config.network?.toString() ?? '0.0.0.0/0',
    SUBNET: lease.subnet.toString(),
    IPV6SUBNET: lease.ipv6Subnet?.toString() ?? '::/0',
    PUBLIC_IP: formatIP4(lease.attrs.publicIP),
    PUBLIC_IPV6: lease.attrs.publicIPv6 === null ? '<nil>' : formatIP6(lease.attrs.publicIPv6),
  };
}

/** Runs a start-up command until it succeeds (its combined output); logs each failure; rejects only on abort. */
async function runUntilSuccess(ctx: BackendContext, options: ExtensionOptions, c: { name: string; cmd: string; vars: Record<string, string> }, signal: AbortSignal): Promise<string> {
  const backoff = new Backoff(options.retryMs ?? 1000, options.retryMaxMs ?? 60_000);
  for (let failures = 0; ; failures++) {
    const r = await runCommand(c.cmd, c.vars, '', { timeoutMs: options.timeoutMs, signal });
    if (signal.aborted) throw abortReason(signal);
    if (commandSucceeded(r)) {
      if (failures > 0) ctx.logger.info(`extension: ${c.name} succeeded after ${failures} failed attempt(s)`);
      return r.output;
    }
    const delay = backoff.next();
    ctx.logger.error(`extension: ${c.name} failed (${describeFailure(r, options.timeoutMs)}); retrying in ${delay} ms`, { command: c.cmd });
    await sleep(delay, signal);
  }
}

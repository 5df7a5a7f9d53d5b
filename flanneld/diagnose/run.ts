// `flanneld diagnose`: reads the network config and every lease from the store the flags select, our
// subnet from subnet.env, and the kernel through the native layer, and reports what is missing or stale.
// Read-only: it never writes to the store or the kernel. Exit 0 all matches, 1 problems, 2 cannot check.
import { screenLeases } from './screen.js';
import type { Flags } from '../flags.js';
import type { Logger } from '../../common/log.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { NO_IPV4, describeSubnets, isSameLease, type Lease, type SubnetPair } from '../../subnet-lease/lease.js';
import type { Native } from '../../native/types.js';
import { openNative } from '../../native/index.js';
import { chooseExternalInterface } from '../ext-iface.js';
import { createStore } from '../store.js';
import { readPreviousSubnets } from '../subnet-env.js';
import { BACKENDS, findBackendModule } from '../backends.js';
import type { ExternalInterface } from '../../backends/backend.js';
import { type Report, exitCode, renderJson, renderText } from './findings.js';
import type { OutputFormat } from '../report-cli.js';

/** The check could not run; the message says what to fix. Exit code 2. */
export class DiagnoseError extends Error {
  override readonly name = 'DiagnoseError';
}

const STORE_TIMEOUT_MS = 15_000;

/** Runs the check and prints the report to stdout; resolves with the exit code (2 with a message on stderr). */
export async function runDiagnose(flags: Flags, format: OutputFormat, log: (component: string) => Logger): Promise<number> {
  try {
    const report = await diagnose(flags, log);
    process.stdout.write(format === 'json' ? renderJson(report) : renderText(report));
    return exitCode(report);
  } catch (e) {
    // Anything that stops the check (a native layer that cannot open, a config this build rejects) is exit 2.
    const message = e instanceof DiagnoseError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
    process.stderr.write(`flanneld diagnose: cannot check: ${message}\n`);
    return 2;
  }
}

async function diagnose(flags: Flags, log: (component: string) => Logger): Promise<Report> {
  const ownSubnets = await readOwnSubnets(flags.subnetFile);
  const { config, leases } = await readStore(flags, log);
  const own = leases.find((l) => isSameLease(l, ownSubnets));
  if (!own) {
    throw new DiagnoseError(`the store holds no lease for our subnet ${describeSubnets(ownSubnets)} (from ${flags.subnetFile}): it expired or was deleted; start flanneld to acquire one`);
  }
  const mod = findBackendModule(config.backendType);
  if (!mod) throw new DiagnoseError(`backend type "${config.backendType}" has no diagnostic; supported: ${BACKENDS.map((m) => m.type).join(', ')}`);
  const native = openNative();
  try {
    const { accepted, rejected } = screenLeases(config, own, leases, flags.kubeSubnetMgr);
    const ext = (): Promise<ExternalInterface> => externalInterface(flags, config, native);
    const findings = await mod.diagnose({ config, own, leases: [own, ...accepted], native, ext });
    return { backend: config.backendType, own, leases, findings, rejected };
  } finally {
    await native.close();
  }
}

/** Our subnets from subnet.env: FLANNEL_SUBNET, or FLANNEL_IPV6_SUBNET alone in an IPv6-only network. */
async function readOwnSubnets(path: string): Promise<SubnetPair> {
  let prev;
  try {
    prev = await readPreviousSubnets(path);
  } catch (e) {
    throw new DiagnoseError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (!prev.subnet && !prev.ipv6Subnet) {
    const why = prev.warnings[0] ?? `${path} is missing or has no FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET`;
    throw new DiagnoseError(`${why}; run flanneld first, or point --subnet-file at the file it writes`);
  }
  return { subnet: prev.subnet ?? NO_IPV4, ipv6Subnet: prev.ipv6Subnet };
}

/** The network config and the first batch of the lease watch (every lease), within STORE_TIMEOUT_MS. */
async function readStore(flags: Flags, log: (component: string) => Logger): Promise<{ config: NetworkConfig; leases: Lease[] }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DiagnoseError(`the lease store did not answer within ${STORE_TIMEOUT_MS / 1000} s`)), STORE_TIMEOUT_MS);
  let parts;
  try {
    parts = await createStore(flags, log, null);
  } catch (e) {
    clearTimeout(timer);
    throw new DiagnoseError(`cannot open the lease store: ${(e as Error).message}`);
  }
  try {
    const config = await parts.store.getNetworkConfig(ctl.signal);
    const leases: Lease[] = [];
    for await (const batch of parts.store.watchLeases(() => null, ctl.signal)) {
      for (const ev of batch) if (ev.type === 'added') leases.push(ev.lease);
      break;
    }
    return { config, leases };
  } catch (e) {
    const why = ctl.signal.aborted ? (ctl.signal.reason as Error).message : `${(e as Error).name}: ${(e as Error).message}`;
    throw new DiagnoseError(`cannot read the network config and leases from ${parts.store.name} (${why}); check --etcd-endpoints/--etcd-prefix or the Kubernetes flags`);
  } finally {
    clearTimeout(timer);
    ctl.abort();
    await parts.registry.close();
  }
}

async function externalInterface(flags: Flags, config: NetworkConfig, native: Native): Promise<ExternalInterface> {
  try {
    return await chooseExternalInterface(
      { iface: flags.iface, ifaceRegex: flags.ifaceRegex, ifaceCanReach: flags.ifaceCanReach, publicIP: flags.publicIP, publicIPv6: flags.publicIPv6, ipv4: config.enableIPv4, ipv6: config.enableIPv6 },
      native,
    );
  } catch (e) {
    throw new DiagnoseError(`cannot choose the external interface as flanneld would: ${(e as Error).message}; pass the same --iface/--public-ip flags`);
  }
}

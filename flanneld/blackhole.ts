// --ip-blackhole-route (fact sheet §1, start-up step 11): keeps a `blackhole <own subnet>` route in the
// main table, checked every --iptables-resync seconds until the signal aborts, so that traffic for an
// address of our subnet that no pod holds is dropped here instead of following the default route out
// (meant for Canal, where no cni0 bridge carries the subnet).
//
// Metric: the route is installed with metric 4294967295 (the lowest priority there is), not 0. The
// kernel keys a route by dst, table and metric, whatever its type: a metric-0 `replace` would overwrite
// cni0's connected route for the same /24 (checked in a namespace), and an `add` would fail with EEXIST.
// With the highest metric the two live side by side and any real route for the subnet wins; the
// blackhole only catches what nothing else routes (test/native/contract.ts holds both
// implementations to this). On stop (SIGTERM) the route stays, like the rest of the data plane; when
// our lease moves, the old subnet's blackhole route is removed.
import { repeatEvery } from '../common/abort.js';
import type { Logger } from '../common/log.js';
import type { Native, NativeError, Route } from '../native/index.js';
import { RTN_BLACKHOLE } from '../native/index.js';
import { SerialQueue } from '../common/serial.js';

export const BLACKHOLE_METRIC = 0xffffffff;

export interface BlackholeOptions {
  native: () => Native;
  /** --iptables-resync, in seconds (>= 1). */
  resyncSeconds: number;
  logger: Logger;
}

export class BlackholeRoutes {
  private subnets: string[] = [];
  private readonly queue = new SerialQueue();
  private readonly lastError = new Map<string, string>();

  constructor(private readonly o: BlackholeOptions) {}

  /** The subnets (CIDR text, one per family in use) whose blackhole routes are kept now. */
  get current(): readonly string[] {
    return this.subnets;
  }

  /**
   * Installs the blackhole route of every subnet in `subnets` (our lease's, one per family) and removes
   * those of subnets we held before and no longer do. Never throws: a failure is logged and left to the
   * loop. Call again with the new subnets when our lease changes.
   */
  setUp(subnets: readonly string[]): Promise<void> {
    return this.queue.run(async () => {
      const gone = this.subnets.filter((s) => !subnets.includes(s));
      this.subnets = [...subnets];
      for (const s of gone) await this.remove(s);
      await this.checkAll(true);
    });
  }

  /** The loop: checks (and puts back) the routes every --iptables-resync seconds until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await repeatEvery(Math.max(1, this.o.resyncSeconds) * 1000, signal, () => this.queue.run(() => this.checkAll(false)));
  }

  private async checkAll(initial: boolean): Promise<void> {
    for (const s of this.subnets) await this.ensure(s, initial);
  }

  private async ensure(subnet: string, initial: boolean): Promise<void> {
    const log = this.o.logger;
    try {
      const native = this.o.native();
      const family = subnet.includes(':') ? 6 : 4;
      const routes = await native.routeList({ family });
      if (routes.some((r) => isOurs(r, subnet))) {
        this.lastError.delete(subnet);
        return;
      }
      await native.routeReplace({ dst: subnet, type: 'blackhole', metric: BLACKHOLE_METRIC });
      this.lastError.delete(subnet);
      if (initial) log.info(`added the blackhole route for ${subnet} (metric ${BLACKHOLE_METRIC})`);
      else log.info(`the blackhole route for ${subnet} was missing; put it back`);
    } catch (e) {
      const message = (e as Error).message;
      if (this.lastError.get(subnet) !== message) log.error(`Failed to ensure the blackhole route for ${subnet}: ${message}`);
      this.lastError.set(subnet, message);
    }
  }

  private async remove(subnet: string): Promise<void> {
    this.lastError.delete(subnet);
    try {
      await this.o.native().routeDelete({ dst: subnet, type: 'blackhole', metric: BLACKHOLE_METRIC });
      this.o.logger.info(`removed the blackhole route for ${subnet}, no longer our subnet`);
    } catch (e) {
      if ((e as NativeError).code !== 'ESRCH') this.o.logger.error(`Failed to remove the blackhole route for ${subnet}: ${(e as Error).message}`);
    }
  }
}

function isOurs(r: Route, subnet: string): boolean {
  return r.type === RTN_BLACKHOLE && r.dst === subnet && r.metric === BLACKHOLE_METRIC;
}

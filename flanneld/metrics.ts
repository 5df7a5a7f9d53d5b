// A small Prometheus registry (text exposition format 0.0.4) and flanneld's metrics. Written here
// rather than pulled in from prom-client: counters, gauges and one histogram are all flanneld needs.
// Other parts never import this file; they get narrow interfaces (TrafficMetrics, the metered
// LeaseStore and Native in metered.ts) that these metrics implement.

type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i > 0 ? ',' : ''}${keys[i]}="${esc(labels[keys[i]!]!)}"`;
  return `${out}}`;
}

function esc(v: string): string {
  return /[\\\n"]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

interface Metric {
  readonly name: string;
  render(): string[];
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${num(v)}`);
    return lines;
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => number,
  ) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.collect && Object.keys(labels).length === 0 ? this.collect() : (this.values.get(labelKey(labels)) ?? 0);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    if (this.collect) lines.push(`${this.name} ${num(this.collect())}`);
    else if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${num(v)}`);
    return lines;
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]!++;
    });
    this.sum += v;
    this.count++;
  }
  get observations(): number {
    return this.count;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${num(b)}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${num(this.sum)}`, `${this.name}_count ${this.count}`);
    return lines;
  }
}

/** Counter families read from a callback at render time (a backend's own counters). */
export interface Sample {
  name: string;
  help: string;
  labels?: Labels;
  value: number;
}

export class SampleCollector implements Metric {
  private source: () => readonly Sample[] = () => [];
  constructor(readonly name: string) {}
  /** Replaces the source; calling it again switches to the new one. */
  collectFrom(source: () => readonly Sample[]): void {
    this.source = source;
  }
  render(): string[] {
    const families = new Map<string, Sample[]>();
    for (const s of this.source()) families.set(s.name, [...(families.get(s.name) ?? []), s]);
    return [...families].flatMap(([name, samples]) => [
      `# HELP ${name} ${samples[0]!.help}`,
      `# TYPE ${name} counter`,
      ...samples.map((s) => `${name}${labelKey(s.labels ?? {})} ${num(s.value)}`),
    ]);
  }
}

/** Families rendered by a callback at render time (the peer probes': one series per current peer). */
export class RenderedFamilies implements Metric {
  private source: () => string[] = () => [];
  constructor(readonly name: string) {}
  renderFrom(source: () => string[]): void {
    this.source = source;
  }
  render(): string[] {
    return this.source();
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  register<T extends Metric>(m: T): T {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  /** The whole registry in the Prometheus text format. */
  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Every metric flanneld exports; one instance per process. */
export class FlannelMetrics {
  readonly registry = new MetricsRegistry();
  private readonly r = this.registry;
  readonly leasesKnown = this.r.register(new Gauge('flannel_leases_known', "other hosts' leases this host follows"));
  readonly leaseEvents = this.r.register(new Counter('flannel_lease_events_total', 'lease events received from the store, by type (added, removed)'));
  readonly kernelEntries = this.r.register(
    new Counter('flannel_kernel_entries_programmed_total', 'kernel entries written by the backend, by kind (route, neigh, fdb) and op (replace, delete)'),
  );
  readonly kernelRepairs = this.r.register(
    new Counter('flannel_kernel_entries_repaired_total', 'kernel entries written again without a lease event asking for them (reconcile pass, device recreation), by kind'),
  );
  readonly kernelErrors = this.r.register(new Counter('flannel_kernel_entry_errors_total', 'kernel entry writes the kernel refused, by kind'));
  readonly eventToKernel = this.r.register(
    new Histogram('flannel_lease_event_to_kernel_seconds', "time from a lease event leaving the store to its subnet's route being written (or deleted) in the kernel", [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]),
  );
  readonly leasesRejected = this.r.register(
    new Counter('flannel_leases_rejected_total', "other hosts' leases (key and value) ignored by the acceptance rule, by reason"),
  );
  readonly leaseAcquisitions = this.r.register(new Counter('flannel_lease_acquisitions_total', 'our lease acquired (at start-up) or re-acquired after it was lost'));
  readonly leaseLosses = this.r.register(new Counter('flannel_lease_losses_total', 'our lease deleted or expired in the store (then re-acquired in process)'));
  readonly leaseRenewals = this.r.register(new Counter('flannel_lease_renewals_total', 'successful renewals of our lease'));
  readonly storeErrors = this.r.register(new Counter('flannel_store_errors_total', 'failed lease-store requests, by operation'));
  readonly storeReconnects = this.r.register(new Counter('flannel_store_watch_reconnects_total', 'times the lease watch was re-established after an interruption'));
  readonly storeEndpoint = this.r.register(new Gauge('flannel_store_endpoint', 'etcd mode: 1 for the member (one of --etcd-endpoints) serving the lease watch, 0 for one it moved away from'));
  readonly storeEndpointMoves = this.r.register(new Counter('flannel_store_endpoint_moves_total', 'etcd mode: times the lease watch moved to another member'));
  readonly ruleChecks = this.r.register(
    new Counter('flannel_rule_checks_total', 'periodic checks of the iptables/nftables rules, by mode, family and result (ok, repaired, error)'),
  );
  /** The backend's own counters (flannel_udp_* with the udp backend); empty for the others. */
  readonly backend = this.r.register(new SampleCollector('flannel_backend_samples'));
  /** flannel_peer_*: the peer probes (flanneld/probe/), when --peer-probe-interval is not 0. */
  readonly peers = this.r.register(new RenderedFamilies('flannel_peer'));
  readonly ready = this.r.register(new Gauge('flannel_ready', '1 once the rules are in place and subnet.env is written (as /readyz)'));
  readonly startTime = this.r.register(new Gauge('process_start_time_seconds', 'start time of the process since the Unix epoch, in seconds'));
  readonly rss = this.r.register(new Gauge('process_resident_memory_bytes', 'resident memory size in bytes', () => process.memoryUsage.rss()));

  constructor() {
    this.startTime.set(Math.round(Date.now() / 1000 - process.uptime()));
  }
}

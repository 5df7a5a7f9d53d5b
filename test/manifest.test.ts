// kube-flannel.yml, checked offline: every document parses; each object passes the Kubernetes OpenAPI
// schema (kubernetes-models); the RBAC rules are exactly the reference's; the ConfigMap
// holds the reference conflist and a net-conf.json that flanneld accepts; the DaemonSet matches §9; and
// the init containers' shell scripts, run against temporary folders, install what they should.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { parseAllDocuments } from 'yaml';
import { checkNetworkConfig, parseNetworkConfig } from '../subnet-lease/config.js';

const run = promisify(execFile);
const MANIFEST = resolve('kube-flannel.yml');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed YAML in a test

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ConfigMap,
  ClusterRole,
  ClusterRoleBinding,
  DaemonSet,
};

const REFERENCE_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
];

async function documents(): Promise<Obj[]> {
  const text = await readFile(MANIFEST, 'utf8');
  const docs = parseAllDocuments(text);
  for (const d of docs) expect(d.errors, String(d.errors)).to.deep.equal([]);
  return docs.map((d) => d.toJSON() as Obj).filter((o) => o !== null);
}

describe('kube-flannel.yml', () => {
  let docs: Obj[];
  const byKind = (kind: string): Obj => docs.find((d) => d.kind === kind)!;
  const ds = (): Obj => byKind('DaemonSet');
  const podSpec = (): Obj => ds().spec.template.spec;
  let version: string;

  before(async () => {
    docs = await documents();
    version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
  });

  it('has the six objects of the reference, in its order', () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).to.deep.equal([
      'Namespace/kube-flannel',
      'ClusterRole/flannel',
      'ClusterRoleBinding/flannel',
      'ServiceAccount/flannel',
      'ConfigMap/kube-flannel-cfg',
      'DaemonSet/kube-flannel-ds',
    ]);
  });

  it('every object passes the Kubernetes schema (kubernetes-models)', () => {
    for (const d of docs) expect(() => new MODELS[d.kind]!(d).validate(), `${d.kind}`).to.not.throw();
  });

  it('the schema check catches a broken object (so the check above means something)', () => {
    const broken = structuredClone(ds());
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
    expect(() => new DaemonSet(broken).validate()).to.throw(/containerPort must be integer/);
  });

  it('grants exactly the reference RBAC: pods get; nodes get/list/watch; nodes/status patch', () => {
    expect(byKind('ClusterRole').rules).to.deep.equal(REFERENCE_RULES);
    const binding = byKind('ClusterRoleBinding');
    expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'flannel' });
    expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'flannel', namespace: 'kube-flannel' }]);
    expect(byKind('Namespace').metadata.labels).to.deep.equal({ 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' });
  });

  it('the ConfigMap carries the reference conflist and a net-conf.json flanneld accepts', () => {
    const data = byKind('ConfigMap').data as Record<string, string>;
    expect(JSON.parse(data['cni-conf.json']!)).to.deep.equal({
      name: 'cbr0',
      cniVersion: '0.3.1',
      plugins: [
        { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    expect(JSON.parse(data['net-conf.json']!)).to.deep.equal({ Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan' } });
    const cfg = checkNetworkConfig(parseNetworkConfig(data['net-conf.json']!));
    expect(cfg.backendType).to.equal('vxlan');
  });

  it('the DaemonSet runs flanneld as the reference does', () => {
    const spec = podSpec();
    expect(spec.hostNetwork).to.equal(true);
    expect(spec.priorityClassName).to.equal('system-node-critical');
    expect(spec.serviceAccountName).to.equal('flannel');
    expect(spec.tolerations).to.deep.equal([{ operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).to.deep.equal([
      { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
    ]);
    expect(ds().spec.selector).to.deep.equal({ matchLabels: { app: 'flannel' } });
    const [c] = spec.containers as Obj[];
    expect(c!.command).to.deep.equal(['/opt/flannel-ts/flanneld/flanneld']);
    expect(c!.args).to.deep.equal(['--ip-masq', '--kube-subnet-mgr', '--healthz-port=8081']);
    expect(c!.ports).to.deep.equal([{ name: 'healthz', containerPort: 8081, protocol: 'TCP' }]);
    expect(c!.livenessProbe).to.deep.equal({ httpGet: { path: '/healthz', port: 'healthz' }, initialDelaySeconds: 10, periodSeconds: 30 });
    expect(c!.readinessProbe).to.deep.equal({ httpGet: { path: '/readyz', port: 'healthz' }, initialDelaySeconds: 5, periodSeconds: 10 });
    expect(c!.resources, 'requests from the benchmark figures, a memory limit only').to.deep.equal({ requests: { cpu: '100m', memory: '100Mi' }, limits: { memory: '300Mi' } });
    expect(c!.securityContext).to.deep.equal({ privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } });
    expect(c!.env).to.deep.equal([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
      { name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' },
    ]);
    expect(c!.volumeMounts).to.deep.equal([
      { name: 'run', mountPath: '/run/flannel' },
      { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
      { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
    ]);
    expect(spec.volumes).to.deep.equal([
      { name: 'run', hostPath: { path: '/run/flannel' } },
      { name: 'cni-plugin', hostPath: { path: '/opt/cni/bin' } },
      { name: 'cni', hostPath: { path: '/etc/cni/net.d' } },
      { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
      { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
    ]);
    const images = [...(spec.initContainers as Obj[]), ...(spec.containers as Obj[])].map((x) => x.image);
    expect(images).to.deep.equal([`flannel-ts:${version}`, `flannel-ts:${version}`, `flannel-ts:${version}`]);
  });

  describe('init containers, run against temporary folders', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fl-manifest-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** The container's script with its absolute paths moved under `dir`. */
    function script(name: string): string {
      const c = (podSpec().initContainers as Obj[]).find((x) => x.name === name)!;
      expect(c.command.slice(0, 2)).to.deep.equal(['/bin/sh', '-c']);
      return (c.command[2] as string).replace(/(["\s])\/(opt|etc|usr)\//g, `$1${dir}/$2/`);
    }

    it('install-cni copies the conflist atomically to /etc/cni/net.d/10-flannel.conflist', async () => {
      await mkdir(join(dir, 'etc/kube-flannel'), { recursive: true });
      await mkdir(join(dir, 'etc/cni/net.d'), { recursive: true });
      const conf = (byKind('ConfigMap').data as Record<string, string>)['cni-conf.json']!;
      await writeFile(join(dir, 'etc/kube-flannel/cni-conf.json'), conf);
      const s = script('install-cni');
      expect(s).to.include('.10-flannel.conflist.tmp');
      await run('/bin/sh', ['-c', s]);
      expect(await readFile(join(dir, 'etc/cni/net.d/10-flannel.conflist'), 'utf8')).to.equal(conf);
      expect(await readdir(join(dir, 'etc/cni/net.d'))).to.deep.equal(['10-flannel.conflist']);
    });

    it('install-cni-plugin installs the native plugin as "flannel" and only the missing Debian plugins', async () => {
      await mkdir(join(dir, 'opt/bin'), { recursive: true });
      await mkdir(join(dir, 'opt/cni/bin'), { recursive: true });
      await mkdir(join(dir, 'usr/lib/cni'), { recursive: true });
      await writeFile(join(dir, 'opt/bin/flanneld'), '#!/bin/sh\necho the daemon\n', { mode: 0o755 });
      await writeFile(join(dir, 'opt/bin/flannel'), '#!/bin/sh\necho flannel-ts\n', { mode: 0o755 });
      for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) await writeFile(join(dir, 'usr/lib/cni', p), `debian ${p}\n`, { mode: 0o755 });
      await writeFile(join(dir, 'opt/cni/bin/bridge'), 'the node\'s own bridge\n', { mode: 0o755 });
      await run('/bin/sh', ['-c', script('install-cni-plugin')]);
      const bin = join(dir, 'opt/cni/bin');
      expect((await readdir(bin)).sort()).to.deep.equal(['bridge', 'flannel', 'host-local', 'loopback', 'portmap']);
      expect(await readFile(join(bin, 'flannel'), 'utf8')).to.equal('#!/bin/sh\necho flannel-ts\n');
      expect((await stat(join(bin, 'flannel'))).mode & 0o111).to.not.equal(0);
      expect(await readFile(join(bin, 'bridge'), 'utf8')).to.equal("the node's own bridge\n");
      expect(await readFile(join(bin, 'portmap'), 'utf8')).to.equal('debian portmap\n');
    });
  });
});

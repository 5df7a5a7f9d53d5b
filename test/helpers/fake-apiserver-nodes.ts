// Nodes of realistic size for the fake API server: what a kubelet registers (labels, ~40 container
// images, conditions, addresses, capacity, nodeInfo, a managedFields entry) — about 10 KB of JSON —
// plus the flannel vxlan annotations of another host, for the pagination tests and the kube benchmark.
type Obj = Record<string, unknown>;

const PREFIX = 'flannel.alpha.coreos.com/';

/** The i-th seeded node (0-based): seed-<i>, podCIDR 10.<1 + i/256>.<i%256>.0/24, public IP 100.64.0.0/10 + i + 1, its own VtepMAC. */
export function seedNode(i: number): Obj {
  const x = i + 1;
  const ip = `100.${64 + (x >> 16)}.${(x >> 8) & 255}.${x & 255}`;
  const mac = `0e:${[(i >> 16) & 255, (i >> 8) & 255, i & 255, 0x11, 0x22].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const cidr = `10.${1 + (i >> 8)}.${i & 255}.0/24`;
  return realisticNode(`seed-${String(i).padStart(5, '0')}`, cidr, {
    [`${PREFIX}backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: mac }),
    [`${PREFIX}backend-type`]: 'vxlan',
    [`${PREFIX}kube-subnet-manager`]: 'true',
    [`${PREFIX}public-ip`]: ip,
  }, ip);
}

function images(name: string): Obj[] {
  return Array.from({ length: 40 }, (_, k) => {
    const repo = `registry.example.com/team-${k % 7}/service-${k}`;
    const digest = (name + k).split('').reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7).toString(16).padStart(8, '0').repeat(8);
    return { names: [`${repo}@sha256:${digest}`, `${repo}:v1.${k}.0`], sizeBytes: 10_000_000 + k * 1_234_567 };
  });
}

export function realisticNode(name: string, podCIDR: string, annotations: Record<string, string>, internalIP = '198.18.0.9'): Obj {
  const t = '2024-01-01T00:00:00Z';
  const cond = (type: string, status: string, reason: string, message: string): Obj => ({ type, status, reason, message, lastHeartbeatTime: t, lastTransitionTime: t });
  return {
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'node.kubernetes.io/instance-type': 'm5.xlarge',
        'topology.kubernetes.io/region': 'eu-west-1', 'topology.kubernetes.io/zone': 'eu-west-1a',
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true', ...annotations },
      managedFields: [{ manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: t, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:images': {}, 'f:nodeInfo': {} } } }],
    },
    spec: { podCIDR, podCIDRs: [podCIDR], providerID: `aws:///eu-west-1a/i-${name}` },
    status: {
      capacity: { cpu: '4', 'ephemeral-storage': '101430960Ki', 'hugepages-2Mi': '0', memory: '16085952Ki', pods: '110' },
      allocatable: { cpu: '3920m', 'ephemeral-storage': '93478772582', 'hugepages-2Mi': '0', memory: '15046720Ki', pods: '110' },
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [{ type: 'InternalIP', address: internalIP }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: 'ec2d3b0e5f0c4c2f9d1b7e5a3c9f1e2d', systemUUID: 'ec2d3b0e-5f0c-4c2f-9d1b-7e5a3c9f1e2d', bootID: '6f1c2b3a-4d5e-6f70-8192-a3b4c5d6e7f8',
        kernelVersion: '6.1.0-18-cloud-amd64', osImage: 'Debian GNU/Linux 12 (bookworm)', containerRuntimeVersion: 'containerd://1.7.13',
        kubeletVersion: 'v1.29.2', kubeProxyVersion: 'v1.29.2', operatingSystem: 'linux', architecture: 'amd64',
      },
      images: images(name),
    },
  };
}

#!/usr/bin/env node
// The fake API server as a process, for end-to-end tests where flanneld runs in host namespaces: start
// it inside the switch namespace (`ip netns exec <sw> node fake-apiserver-main.js …`) so the hosts reach
// it on the underlay, and drive it from the test through its unix socket, which every namespace sees.
//
//   node fake-apiserver-main.js --host 198.18.0.254 --port 6443 --token T --admin-token A \
//        --socket /tmp/x/api.sock [--rules '<JSON list of ClusterRole rules>'] [--seed N]
// --seed N creates N realistic vxlan-annotated nodes first (fake-apiserver-nodes.ts seedNode).
// Prints "listening <url>" once both listeners are up; stops on SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { FakeApiServer, type PolicyRule } from './fake-apiserver.js';
import { seedNode } from './fake-apiserver-nodes.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '6443' },
    token: { type: 'string', default: 'test-token' },
    'admin-token': { type: 'string' },
    socket: { type: 'string' },
    rules: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});

const api = await FakeApiServer.start({
  host: values.host,
  port: Number(values.port),
  token: values.token,
  adminToken: values['admin-token'],
  socketPath: values.socket,
  rules: values.rules ? (JSON.parse(values.rules) as PolicyRule[]) : undefined,
});
api.seedNodes(Array.from({ length: Number(values.seed) }, (_, i) => seedNode(i)));
process.stdout.write(`listening ${api.url}\n`);
const stop = (): void => void api.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

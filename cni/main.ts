#!/usr/bin/env node
// The flannel CNI plugin (install it as /opt/cni/bin/flannel). The runtime starts it once per pod
// event, so this entry imports only small modules: no logger, no flag parser, no etcd client.
import { readFileSync } from 'node:fs';
import { runPlugin } from './plugin.js';

const outcome = runPlugin({
  env: process.env,
  readStdin: () => readFileSync(0, 'utf8'),
  stderr: (text) => process.stderr.write(text),
});
process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;

// Loaded with `node --import` into a flanneld under test: on exit, writes the Node built-in modules the
// process loaded (process.moduleLoadList's "NativeModule x" entries, one per line) to the file named by
// FLANNELTS_TEST_MODULE_LIST. The footprint test reads it to see what a mode pulls in.
import { writeFileSync } from 'node:fs';

const out = process.env.FLANNELTS_TEST_MODULE_LIST;
if (out) {
  process.on('exit', () => {
    const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
    writeFileSync(out, `${list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)).join('\n')}\n`);
  });
}

// The native layer's public surface: the Native interface and its data, the kernel binding, the errors.
// The in-memory fake lives in ./fake.js and is imported by tests directly.
export type * from './types.js';
export { RT_TABLE_MAIN, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST, RTPROT_BOOT, RTPROT_KERNEL, NUD_PERMANENT, RTN_UNICAST, RTN_BLACKHOLE } from './types.js';
export { NativeError, NativeArgumentError } from './errors.js';
export { openNative, type OpenOptions } from './kernel.js';

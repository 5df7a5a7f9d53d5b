// etcd's WithRequireLeader for a stream: the gRPC metadata `hasleader: true`. A member that is cut off
// from the others (no leader) then ends the stream with "etcdserver: no leader" instead of keeping it
// open and silent, so the watch reconnects — to another member — and resumes from its last revision.
// etcd3 (npm) has no option for it; a grpc-js call interceptor adds it to the one call it is given to
// (and can report the member, host:port, that answered).
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';

export function requireLeader(onPeer?: (peer: string) => void): Interceptor {
  return (options, nextCall) => {
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        // A copy: etcd3 shares one metadata object (its auth token) between all calls.
        const m = metadata.clone();
        m.set('hasleader', 'true');
        next(m, {
          onReceiveMetadata(md, nextMd) {
            onPeer?.(call.getPeer());
            nextMd(md);
          },
        });
      },
    });
    return call;
  };
}

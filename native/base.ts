// What the kernel binding and the fake share: the one-op forms of `apply`, built on `apply` itself so
// that both implementations batch and report errors the same way.
import type { NativeError } from './errors.js';
import type { FdbSpec, NeighSpec, Op, Route, RouteSpec } from './types.js';

export abstract class NativeBase {
  abstract apply(ops: readonly Op[]): Promise<Array<NativeError | null>>;
  abstract routeGet(dst: string): Promise<Route[]>;

  /** `routeGet` for many destinations at once; the kernel binding sends them in one batch. */
  routeGetMany(dsts: readonly string[]): Promise<Array<Route[] | NativeError>> {
    return Promise.all(dsts.map((d) => this.routeGet(d).catch((e: unknown) => e as NativeError)));
  }

  private async one(op: Op): Promise<void> {
    const [err] = await this.apply([op]);
    if (err) throw err;
  }
  routeReplace(route: RouteSpec): Promise<void> {
    return this.one({ op: 'route.replace', route });
  }
  routeDelete(route: RouteSpec): Promise<void> {
    return this.one({ op: 'route.delete', route });
  }
  neighReplace(neigh: NeighSpec): Promise<void> {
    return this.one({ op: 'neigh.replace', neigh });
  }
  neighDelete(neigh: NeighSpec): Promise<void> {
    return this.one({ op: 'neigh.delete', neigh });
  }
  fdbReplace(fdb: FdbSpec): Promise<void> {
    return this.one({ op: 'fdb.replace', fdb });
  }
  fdbDelete(fdb: FdbSpec): Promise<void> {
    return this.one({ op: 'fdb.delete', fdb });
  }
}

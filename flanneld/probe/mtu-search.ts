// The path-MTU check of the peer probes (issue 16), as a search over probe sizes: probes of the full
// overlay MTU with Don't Fragment set; when they are lost but a small one passes, a binary search for
// the largest size that passes, to within 8 bytes. Sending (and its rate bound) is the caller's.

export type MtuVerdict =
  /** Full-size probes pass. */
  | { kind: 'ok' }
  /** Full-size probes are lost, `works`-byte ones pass. */
  | { kind: 'too-small'; works: number }
  /** Not even a small probe passes: nothing to learn about the MTU now. */
  | { kind: 'no-answer' }
  /** `wanted()` turned false on the way: the answer no longer matters. */
  | { kind: 'abandoned' };

/**
 * `passes(size)` sends one probe of `size` bytes and says whether it was answered; `small` is a size
 * known to fit any path (ping's default); `wanted()` is asked between probes.
 */
export async function searchPathMtu(passes: (size: number) => Promise<boolean>, full: number, small: number, wanted: () => boolean): Promise<MtuVerdict> {
  // A single loss proves nothing: the full size gets a second chance before the search starts.
  if ((await passes(full)) || (await passes(full)) || full <= small) return wanted() ? { kind: 'ok' } : { kind: 'abandoned' };
  if (!wanted()) return { kind: 'abandoned' };
  if (!(await passes(small))) return wanted() ? { kind: 'no-answer' } : { kind: 'abandoned' };
  let lo = small;
  let hi = full;
  while (hi - lo > 8) {
    if (!wanted()) return { kind: 'abandoned' };
    const mid = Math.floor((lo + hi) / 2);
    if (await passes(mid)) lo = mid;
    else hi = mid;
  }
  return wanted() ? { kind: 'too-small', works: lo } : { kind: 'abandoned' };
}

// Patch semantics of the fake API server, as the real one documents them for the types it serves:
// JSON merge patch (RFC 7386) and strategic merge patch, where maps merge recursively, null deletes a
// key, lists with a patchMergeKey (Node status.conditions and status.addresses by "type") merge element
// by element, other lists are replaced, and the directives `$patch` (replace/delete/merge) and
// `$setElementOrder/…`, `$retainKeys`, `$deleteFromPrimitiveList/…` are understood.

type Json = unknown;
type Obj = Record<string, Json>;

function isObj(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** patchMergeKey of list fields, by their path (dot-joined field names from the object root). */
export const NODE_MERGE_KEYS: Readonly<Record<string, string>> = {
  'status.conditions': 'type',
  'status.addresses': 'type',
};

export class PatchError extends Error {
  override readonly name = 'PatchError';
}

export function strategicMergePatch(target: Json, patch: Json, mergeKeys: Readonly<Record<string, string>>, path = ''): Json {
  if (!isObj(patch)) throw new PatchError(`strategic merge patch at ${path || '<root>'} must be an object`);
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive === 'delete') return undefined;
  if (directive !== undefined && directive !== 'merge') throw new PatchError(`unknown $patch directive ${JSON.stringify(directive)}`);
  const out: Obj = isObj(target) ? { ...target } : {};
  const retain = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) {
      if (k.startsWith('$deleteFromPrimitiveList/')) {
        const field = k.slice('$deleteFromPrimitiveList/'.length);
        const drop = Array.isArray(v) ? v : [];
        if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((x) => !drop.includes(x));
      }
      continue; // $setElementOrder only orders, $retainKeys handled below, $patch handled above
    }
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(out[k], v, mergeKeys[childPath], mergeKeys, childPath);
    else if (isObj(v)) {
      const merged = strategicMergePatch(out[k], v, mergeKeys, childPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function mergeList(target: Json, patch: Json[], key: string | undefined, mergeKeys: Readonly<Record<string, string>>, path: string): Json[] {
  if (!key) return structuredClone(patch).filter((x) => !(isObj(x) && x.$patch === 'delete'));
  const out: Json[] = Array.isArray(target) ? [...target] : [];
  for (const item of patch) {
    if (!isObj(item)) throw new PatchError(`list ${path} merges by ${key}: element ${JSON.stringify(item)} is not an object`);
    const idx = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item, mergeKeys, path);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: Obj): Obj {
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('$')));
}

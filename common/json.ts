// Reading JSON decoded from the wire the way the reference's Go code does.

/** Go's encoding/json matches keys case-insensitively: exact match first, else any case. */
export function getField(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
}


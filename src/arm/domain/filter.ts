/**
 * The small OData `$filter` subset that ARM list calls use: `field eq 'value'` terms joined by `and`
 * (az-cli-compat.md §6: `resourceType eq 'Microsoft.KeyVault/vaults'`). Unknown shapes yield undefined so
 * the caller can answer 400 rather than silently ignore the filter.
 */
export type FilterTerm = { field: string; op: "eq" | "ge" | "le" | "gt" | "lt"; value: string };

export function parseFilter(filter: string | null): FilterTerm[] | undefined {
  if (!filter || !filter.trim()) return [];
  const terms: FilterTerm[] = [];
  for (const part of filter.split(/\s+and\s+/i)) {
    const m = /^\s*([A-Za-z][\w/.]*)\s+(eq|ge|le|gt|lt)\s+(?:'((?:[^']|'')*)'|(\S+))\s*$/i.exec(part);
    if (!m) return undefined;
    terms.push({ field: m[1]!, op: m[2]!.toLowerCase() as FilterTerm["op"], value: (m[3] ?? m[4] ?? "").replace(/''/g, "'") });
  }
  return terms;
}

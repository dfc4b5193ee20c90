/**
 * A bounded least-recently-used map whose entries belong to groups (one group per key name), so dropping
 * every cached version of a key costs the size of that group, not of the whole cache.
 *
 * The data plane keeps here, per vault/name/version: the key record (so an unwrap costs no query), the
 * parsed public key and the decrypted private key (so it costs one RSA operation, not an unseal and a key
 * parse; issue 3 §5). Key material of a version never changes; groups are dropped whenever the key is
 * written (new version, update, delete, recover, purge, restore), before the write is acknowledged.
 */
export class GroupedLru<V> {
  private readonly map = new Map<string, { group: string; value: V }>();
  private readonly groups = new Map<string, Set<string>>();

  constructor(private readonly capacity: number) {}

  private static id(group: string, key: string): string {
    return `${group}\u0000${key}`;
  }

  get(group: string, key: string): V | undefined {
    const id = GroupedLru.id(group, key);
    const hit = this.map.get(id);
    if (!hit) return undefined;
    this.map.delete(id);
    this.map.set(id, hit);
    return hit.value;
  }

  set(group: string, key: string, value: V): void {
    const id = GroupedLru.id(group, key);
    this.map.delete(id);
    this.map.set(id, { group, value });
    let members = this.groups.get(group);
    if (!members) this.groups.set(group, (members = new Set()));
    members.add(id);
    while (this.map.size > this.capacity) {
      const [oldest, entry] = this.map.entries().next().value!;
      this.map.delete(oldest);
      const g = this.groups.get(entry.group);
      g?.delete(oldest);
      if (g && g.size === 0) this.groups.delete(entry.group);
    }
  }

  deleteGroup(group: string): void {
    const members = this.groups.get(group);
    if (!members) return;
    for (const id of members) this.map.delete(id);
    this.groups.delete(group);
  }

  /** Drops every group whose name starts with `prefix` (a whole vault; rare). */
  deleteGroupsWithPrefix(prefix: string): void {
    for (const group of [...this.groups.keys()]) if (group.startsWith(prefix)) this.deleteGroup(group);
  }

  get size(): number {
    return this.map.size;
  }
}

import fs from "node:fs";
import path from "node:path";

/**
 * What `tdekv chaos` did, so `tdekv chaos --undo` can reverse it: `<data-dir>/chaos-journal.json`, newest
 * last. Each entry carries the exact state it replaced (permissions, firewall rules, attributes, the tenant
 * a subscription was in), never a guess.
 */

export interface Grant {
  vaultId: string;
  model: "accessPolicy" | "rbac";
  tenantId: string;
  /** accessPolicy: the permissions the old principal had. */
  permissions?: Record<string, string[]>;
  /** rbac: the roles it had, and where. */
  roles?: { scope: string; roleDefinitionId: string }[];
}

export type UndoStep =
  | { kind: "recover-vault"; name: string; subscriptionId: string; resourceGroup: string; location: string; tenantId: string }
  | { kind: "patch-vault"; vaultId: string; properties: Record<string, unknown> }
  | { kind: "clear-fault"; vault: string }
  | { kind: "recover-key"; vault: string; key: string }
  | { kind: "key-attributes"; vault: string; key: string; version?: string; attributes: Record<string, unknown> }
  | { kind: "restore-identity"; serverId: string; userAssigned?: { id: string; location: string; tags?: Record<string, string> }; grants: Grant[] }
  | { kind: "move-server-back"; serverId: string; targetResourceGroupId: string }
  | { kind: "move-subscription-back"; subscriptionId: string; tenantId: string; vaults: { id: string; tenantId: string }[] }
  | { kind: "replace-policy"; vaultId: string; tenantId: string; objectId: string; permissions: Record<string, string[]> | null }
  | { kind: "restore-roles"; principalId: string; remove: string[]; add: { scope: string; roleDefinitionId: string; name: string }[] };

export interface JournalEntry {
  id: string;
  cause: string;
  at: string;
  target: string;
  summary: string;
  /** Run in order to reverse the cause. */
  undo: UndoStep[];
}

export class ChaosJournal {
  readonly file: string;
  constructor(dataDir: string) {
    this.file = path.join(dataDir, "chaos-journal.json");
  }

  read(): JournalEntry[] {
    if (!fs.existsSync(this.file)) return [];
    try {
      const v = JSON.parse(fs.readFileSync(this.file, "utf8")) as { entries?: JournalEntry[] };
      return Array.isArray(v.entries) ? v.entries : [];
    } catch {
      return [];
    }
  }

  write(entries: JournalEntry[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ entries }, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  append(e: JournalEntry): void {
    this.write([...this.read(), e]);
  }

  remove(id: string): void {
    this.write(this.read().filter((e) => e.id !== id));
  }
}

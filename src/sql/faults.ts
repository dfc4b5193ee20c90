import { KeyAccessError, type ServerKeyVault } from "./key-access.js";

/**
 * Faults between the SQL service and Key Vault that no Azure operation can cause (issue 5 §6, seed "An
 * intermittent network error causes the key vault to be unavailable"): the vault unreachable, slow past the
 * timeout, answering 5xx, or failing intermittently at a rate. Every other seed cause is made with the real
 * operation (delete the vault, revoke the policy, ...), never faked here.
 */
export type FaultKind = "unreachable" | "slow" | "5xx" | "intermittent";

export interface Fault {
  kind: FaultKind;
  /** intermittent: probability of failure per call, 0-1. */
  rate?: number;
  /** slow: added latency in ms. */
  delayMs?: number;
}

export class VaultFaults {
  private readonly byVault = new Map<string, Fault>();
  constructor(private readonly random: () => number = Math.random) {}

  set(vault: string, fault: Fault): void {
    this.byVault.set(vault.toLowerCase(), fault);
  }
  clear(vault?: string): void {
    if (vault) this.byVault.delete(vault.toLowerCase());
    else this.byVault.clear();
  }
  list(): Record<string, Fault> {
    return Object.fromEntries(this.byVault);
  }

  /** Applies the fault (if any) for the vault a key id names, before the real call. */
  async before(kid: string): Promise<void> {
    const vault = /^https:\/\/([^.]+)\./i.exec(kid)?.[1]?.toLowerCase();
    const f = vault ? this.byVault.get(vault) : undefined;
    if (!f) return;
    switch (f.kind) {
      case "unreachable":
        throw new KeyAccessError("network-error", `connect ETIMEDOUT ${vault}.vault.azure.net:443 (injected: vault unreachable)`);
      case "5xx":
        throw new KeyAccessError("vault-unavailable", "503 ServiceUnavailable: the Key Vault service is temporarily unavailable (injected)");
      case "slow":
        await new Promise((r) => setTimeout(r, f.delayMs ?? 10_000));
        return;
      case "intermittent":
        if (this.random() < (f.rate ?? 0.5)) throw new KeyAccessError("network-error", `read ECONNRESET ${vault}.vault.azure.net:443 (injected: intermittent failure)`);
    }
  }
}

/** Wraps a vault client with injected faults and a per-call timeout (a slow vault is a failed call). */
export function withFaults(inner: ServerKeyVault, faults: VaultFaults, timeoutMs: number): ServerKeyVault & { calls(): number } {
  let count = 0;
  async function guarded<T>(kid: string, call: () => Promise<T>): Promise<T> {
    count++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeyAccessError("timeout", `the call to Key Vault did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([
        (async () => {
          await faults.before(kid);
          return call();
        })(),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    /** Calls made from the SQL service to Key Vault so far (bench/monitor-scale counts them per pass). */
    calls: () => count,
    getKey: (identity, kid) => guarded(kid, () => inner.getKey(identity, kid)),
    wrapKey: (identity, kid, alg, value) => guarded(kid, () => inner.wrapKey(identity, kid, alg, value)),
    unwrapKey: (identity, kid, alg, value) => guarded(kid, () => inner.unwrapKey(identity, kid, alg, value)),
  };
}

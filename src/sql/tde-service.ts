import type { Principal } from "../identity/index.js";
import { type KeyProtector, type KeyUnwrapper, type ProtectorRef, type WrappedDek, ServiceManagedProtector, TdeEngine } from "../tde/index.js";
import { type ServerKeyVault, WRAP_ALG, classifyVaultError } from "./key-access.js";

/**
 * Binds the encryption engine to a server's protector. A customer-managed protector wraps and unwraps
 * through Key Vault as the server's identity, acting as a trusted Microsoft service (the vault firewall
 * lets it through only with bypass AzureServices); the service-managed one seals under the master key.
 */
export class TdeService {
  constructor(
    readonly engine: TdeEngine,
    private readonly serviceManaged: ServiceManagedProtector,
    private readonly vault: ServerKeyVault,
  ) {}

  serviceManagedProtector(): KeyProtector {
    return this.serviceManaged;
  }

  /** A protector for a customer key, acting as `identity`. */
  vaultProtector(identity: Principal, kid: string, thumbprint: string): KeyProtector {
    const ref: ProtectorRef = { kind: "AzureKeyVault", kid, thumbprint };
    const vault = this.vault;
    return {
      ref,
      async wrap(dek: Buffer): Promise<WrappedDek> {
        try {
          const out = await vault.wrapKey(identity, kid, WRAP_ALG, dek);
          return { alg: WRAP_ALG, value: out.value.toString("base64url"), protector: ref };
        } catch (err) {
          throw classifyVaultError(err);
        }
      },
    };
  }

  /** Unwraps any DEK of this server: service-managed ones locally, customer-managed ones through the vault. */
  unwrapperFor(identity: () => Promise<Principal | undefined>): KeyUnwrapper {
    return {
      unwrap: async (w: WrappedDek) => {
        if (w.protector.kind === "ServiceManaged") return this.serviceManaged.unwrap(w);
        const who = await identity();
        if (!who) throw classifyVaultError({ reason: "unauthenticated", message: "the server has no identity" });
        try {
          return await this.vault.unwrapKey(who, w.protector.kid, w.alg, Buffer.from(w.value, "base64url"));
        } catch (err) {
          throw classifyVaultError(err);
        }
      },
    };
  }
}

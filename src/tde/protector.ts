import { createHash } from "node:crypto";
import type { SecretBox } from "../platform/index.js";

/**
 * The TDE protector as the engine sees it: something that wraps a DEK and says which key did it. The
 * customer-managed protector (sql/) wraps through Key Vault as the server's identity; the service-managed
 * one wraps under tdekv's own master key. The engine never learns which, which keeps it free of HTTP.
 */
export interface ProtectorRef {
  kind: "ServiceManaged" | "AzureKeyVault";
  /** Key id: the Key Vault kid for AzureKeyVault, "tdekv:service-managed" otherwise. */
  kid: string;
  /** 40 hex digits, as Azure shows server key thumbprints. */
  thumbprint: string;
}

export interface WrappedDek {
  /** Key-wrap algorithm, e.g. RSA-OAEP-256, or "tdekv-secretbox" for the service-managed key. */
  alg: string;
  /** base64url ciphertext. */
  value: string;
  protector: ProtectorRef;
}

export interface KeyProtector {
  readonly ref: ProtectorRef;
  wrap(dek: Buffer): Promise<WrappedDek>;
}

/** Unwraps any DEK whose protector it can reach; throws (typed, from the caller's domain) when it cannot. */
export interface KeyUnwrapper {
  unwrap(wrapped: WrappedDek): Promise<Buffer>;
}

export const SERVICE_MANAGED_KID = "tdekv:service-managed";

/** Service-managed TDE: the DEK sealed under the master key, never leaving tdekv. */
export class ServiceManagedProtector implements KeyProtector, KeyUnwrapper {
  readonly ref: ProtectorRef;
  constructor(private readonly box: SecretBox) {
    this.ref = { kind: "ServiceManaged", kid: SERVICE_MANAGED_KID, thumbprint: createHash("sha1").update(SERVICE_MANAGED_KID).digest("hex").toUpperCase() };
  }
  async wrap(dek: Buffer): Promise<WrappedDek> {
    return { alg: "tdekv-secretbox", value: this.box.seal(dek, "tde-dek"), protector: this.ref };
  }
  async unwrap(wrapped: WrappedDek): Promise<Buffer> {
    if (wrapped.protector.kind !== "ServiceManaged") throw new Error("not a service-managed DEK");
    return this.box.open(wrapped.value, "tde-dek");
  }
}

import type { KeyEpoch } from "./generation.js";
import { type BackupContext, KEYS_TYPE, iso, subscriptionOf } from "./context.js";
import { backupErrors } from "./domain/errors.js";
import type { ServerKeyLike, ServerLike } from "./ports.js";

/**
 * A backup stays bound to the protector that was current when it was taken (pitr-fog.md §2.1: "old backups
 * are not updated"; "At restore time, both keys will be needed"). For every key epoch a restore spans, the
 * target server must have a server key with that key material (same thumbprint: "if backup file is encrypted
 * with the key with the corresponding thumbprint"), else MissingKeyVaultUriForRestore names the key; and that
 * key must unwrap the DEK as the server's identity, else IncorrectAccessToAzureKeyVault. Returns the DEK;
 * the caller zeroes it.
 */
export async function unwrapForRestore(ctx: BackupContext, target: ServerLike, epochs: KeyEpoch[], database: string, span: { from: number; to: number }): Promise<Buffer> {
  const keys = (await ctx.arm.store.listByType<ServerKeyLike>({ subscriptionId: subscriptionOf(target.id), typeKey: KEYS_TYPE, parentId: target.id })).map((k) => k.body);
  const unwrapper = ctx.sql.unwrapper(target);
  const denied: string[] = [];
  let dek: Buffer | undefined;
  for (const e of epochs) {
    let wrapped = e.wrapped;
    if (e.kind === "AzureKeyVault") {
      const key = keys.find((k) => k.properties.serverKeyType === "AzureKeyVault" && (k.properties.thumbprint?.toUpperCase() === e.thumbprint.toUpperCase() || k.properties.uri?.toLowerCase() === e.kid.toLowerCase()));
      if (!key?.properties.uri) throw backupErrors.missingKeyForRestore(e.kid, database, target.name);
      // The same key material may be registered under another URI (another vault): unwrap through that one.
      wrapped = { ...e.wrapped, protector: { ...e.wrapped.protector, kid: key.properties.uri } };
    }
    try {
      const got = await unwrapper.unwrap(wrapped);
      if (dek) got.fill(0);
      else dek = got;
    } catch {
      denied.push(e.kid);
    }
  }
  if (denied.length || !dek) {
    dek?.fill(0);
    throw backupErrors.incorrectAccessForRestore(target.name, denied, iso(span.from), iso(span.to));
  }
  return dek;
}

/**
 * Geo-replication under CMK (pitr-fog.md §2.2, §3.4): the secondary shares the primary's DEK, wrapped under
 * the primary protector's key material, so the partner server must hold a key with that material. Returns the
 * wrapped DEK relabeled to the partner's own key URI (no decryption: the RSA-OAEP ciphertext is the same for
 * any key with that material), or throws SameKeyMaterialNotFoundOnRemoteServer naming the key to add.
 */
export async function wrappedForPartner(ctx: BackupContext, partner: ServerLike, wrapped: import("../tde/index.js").WrappedDek): Promise<import("../tde/index.js").WrappedDek> {
  if (wrapped.protector.kind !== "AzureKeyVault") return wrapped;
  const keys = (await ctx.arm.store.listByType<ServerKeyLike>({ subscriptionId: subscriptionOf(partner.id), typeKey: KEYS_TYPE, parentId: partner.id })).map((k) => k.body);
  const key = keys.find((k) => k.properties.serverKeyType === "AzureKeyVault" && k.properties.thumbprint?.toUpperCase() === wrapped.protector.thumbprint.toUpperCase());
  if (!key?.properties.uri) throw backupErrors.sameKeyMaterialNotFound(wrapped.protector.kid, partner.name);
  return { ...wrapped, protector: { ...wrapped.protector, kid: key.properties.uri } };
}

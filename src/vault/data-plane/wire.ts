import type { VaultRecord } from "../vault-registry.js";
import type { KeyRecord } from "./key-store.js";
import { recoverableDays, recoveryLevel } from "./domain/recovery.js";
import { DEFAULT_ROTATION_POLICY, type RotationPolicy } from "./domain/rotation-policy.js";
import { kvErrors } from "./errors.js";

/**
 * Domain records → Key Vault's JSON models (keyvault.md §1.3): unix seconds, base64url without padding,
 * public key members only, kid on the host the client called (sdk-compat.md §0.5).
 */
const seconds = (ms: number) => Math.floor(ms / 1000);

export const keyId = (origin: string, rec: Pick<KeyRecord, "name" | "version">) => `${origin}/keys/${rec.name}/${rec.version}`;

export function jsonWebKey(origin: string, rec: KeyRecord): Record<string, unknown> {
  // Only the stored public members exist here; private parts never reach a response (issue 3 §4).
  return { kid: keyId(origin, rec), kty: rec.kty, key_ops: rec.keyOps, ...rec.publicJwk };
}

export function keyAttributes(rec: KeyRecord, vault: VaultRecord): Record<string, unknown> {
  const attrs: Record<string, unknown> = { enabled: rec.enabled };
  if (rec.nbfAt !== null) attrs.nbf = seconds(rec.nbfAt);
  if (rec.expAt !== null) attrs.exp = seconds(rec.expAt);
  attrs.created = seconds(rec.createdAt);
  attrs.updated = seconds(rec.updatedAt);
  attrs.recoveryLevel = recoveryLevel(vault);
  const days = recoverableDays(vault);
  if (days !== undefined) attrs.recoverableDays = days;
  attrs.exportable = rec.exportable;
  return attrs;
}

const withTags = (body: Record<string, unknown>, tags: Record<string, string>) => {
  if (Object.keys(tags).length > 0) body.tags = tags;
  return body;
};

export function keyBundle(origin: string, rec: KeyRecord, vault: VaultRecord): Record<string, unknown> {
  return withTags({ key: jsonWebKey(origin, rec), attributes: keyAttributes(rec, vault) }, rec.tags);
}

function deletedFields(origin: string, rec: KeyRecord): Record<string, unknown> {
  if (rec.deletedAt === null) return {};
  return { recoveryId: `${origin}/deletedkeys/${rec.name}`, deletedDate: seconds(rec.deletedAt), scheduledPurgeDate: seconds(rec.scheduledPurgeAt ?? rec.deletedAt) };
}

/** DeletedKeyBundle; without soft delete (key purged at once) it carries no recoveryId (JS-DEL poller: done). */
export function deletedKeyBundle(origin: string, rec: KeyRecord, vault: VaultRecord): Record<string, unknown> {
  return { ...keyBundle(origin, rec, vault), ...deletedFields(origin, rec) };
}

/** KeyItem: version-less kid in the keys list, versioned kid in the versions list (keyvault.md §1.1). */
export function keyItem(origin: string, rec: KeyRecord, vault: VaultRecord, versioned: boolean): Record<string, unknown> {
  const kid = versioned ? keyId(origin, rec) : `${origin}/keys/${rec.name}`;
  return withTags({ kid, attributes: keyAttributes(rec, vault) }, rec.tags);
}

export function deletedKeyItem(origin: string, rec: KeyRecord, vault: VaultRecord): Record<string, unknown> {
  return { ...keyItem(origin, rec, vault, false), ...deletedFields(origin, rec) };
}

export function rotationPolicyBody(origin: string, name: string, policy: RotationPolicy | null): Record<string, unknown> {
  const p = policy ?? DEFAULT_ROTATION_POLICY;
  const attributes: Record<string, unknown> = {};
  if (p.expiryTime) attributes.expiryTime = p.expiryTime;
  if (p.createdAt !== undefined) attributes.created = seconds(p.createdAt);
  if (p.updatedAt !== undefined) attributes.updated = seconds(p.updatedAt);
  return { id: `${origin}/keys/${name}/rotationpolicy`, lifetimeActions: p.lifetimeActions, attributes };
}

/** Paging (keyvault.md §1.1): maxresults 1..25 (default 25); nextLink absolute with an opaque $skiptoken. */
export const MAX_RESULTS = 25;

export function parseMaxResults(raw: string | null): number {
  if (raw === null || raw === "") return MAX_RESULTS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RESULTS) throw kvErrors.badParameter(`The value of maxresults must be an integer between 1 and ${MAX_RESULTS}.`);
  return n;
}

export function encodeSkipToken(position: string | number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

export function decodeSkipToken<T extends string | number>(raw: string | null, kind: "string" | "number"): T | undefined {
  if (raw === null || raw === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as { p?: unknown };
    if (typeof parsed.p === kind) return parsed.p as T;
  } catch {
    // fall through
  }
  throw kvErrors.badParameter("The $skiptoken is not valid.");
}

export function nextLink(origin: string, path: string, apiVersion: string, token: string, max: number): string {
  return `${origin}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${token}&maxresults=${max}`;
}

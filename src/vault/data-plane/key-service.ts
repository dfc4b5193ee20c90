import { newHexId, type Clock, type SecretBox } from "../../platform/index.js";
import type { VaultRecord } from "../vault-registry.js";
import { kvErrors } from "./errors.js";
import { KeyStore, type KeyRecord, type NewVersion } from "./key-store.js";
import { GroupedLru } from "./key-cache.js";
import { PrivateKeyOps, PublicKeyOps } from "./key-crypto.js";
import { generateKeyMaterial, importKeyMaterial, type KeyMaterial } from "./key-material.js";
import { defaultKeyOps, isEc, isRsa, type Kty } from "./crypto/algorithms.js";
import { checkKeyUse, type KeyUse } from "./domain/key-state.js";
import { scheduledPurgeAt } from "./domain/recovery.js";
import { durationSeconds, parseRotationPolicy, type RotationPolicy } from "./domain/rotation-policy.js";
import {
  checkKeyName,
  isObject,
  isWellFormedVersion,
  optionalBoolean,
  optionalUnixTime,
  parseKeyOps,
  parseTags,
  requiredString,
  type JsonWebKeyOperation,
} from "./domain/validation.js";

/**
 * The keys themselves (keyvault.md §1.2, §1.5): lifecycle, versions, soft delete, rotation and the crypto
 * operations. Callers (HTTP routes and the in-process API) have already authenticated and authorized;
 * this layer applies the key's own rules (state, key_ops, nbf/exp) and the vault's soft-delete settings.
 */
export interface VaultContext {
  vault: VaultRecord;
  /** `https://{host}` as the client called it; kids and links are built on it. */
  origin: string;
}

export interface Page {
  items: KeyRecord[];
  /** Position after the last item when more may follow. */
  next?: string | number;
}

/**
 * Keys belong to one incarnation of a vault, its `uid` (VaultRecord): it survives move, soft delete and
 * recover, and a vault purged and re-created under the same name gets a new one, so old keys never reappear.
 */
export const vaultKey = (vault: Pick<VaultRecord, "uid">): string => vault.uid;
const sealContext = (vault: string, nameKey: string, version: string) => `vault-key/${vault}/${nameKey}/${version}`;
const group = (vault: string, nameKey: string) => `${vault}/${nameKey}`;

interface AttributeInput {
  enabled?: boolean;
  nbfAt?: number | null;
  expAt?: number | null;
}

function parseAttributes(body: Record<string, unknown>): AttributeInput {
  const raw = body.attributes;
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw kvErrors.badParameter("The parameter 'attributes' must be an object.");
  if (raw.exportable === true) throw kvErrors.badParameter("Exportable keys need a release policy, and tdekv does not support key release.");
  const nbf = optionalUnixTime(raw, "nbf");
  const exp = optionalUnixTime(raw, "exp");
  return {
    enabled: optionalBoolean(raw, "enabled"),
    ...(nbf !== undefined ? { nbfAt: nbf === null ? null : nbf * 1000 } : {}),
    ...(exp !== undefined ? { expAt: exp === null ? null : exp * 1000 } : {}),
  };
}

function checkWindow(nbfAt: number | null, expAt: number | null): void {
  if (nbfAt !== null && expAt !== null && nbfAt > expAt) throw kvErrors.badParameter("The key's 'nbf' must not be later than its 'exp'.");
}

export class KeyService {
  readonly store: KeyStore;
  private readonly records = new GroupedLru<KeyRecord>(16384);
  private readonly privateOps = new GroupedLru<PrivateKeyOps>(1024);
  private readonly publicOps = new GroupedLru<PublicKeyOps>(8192);
  /** Bumped by every invalidation: a read that raced with a write must not cache what it read. */
  private writes = 0;

  constructor(
    store: KeyStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {
    this.store = store;
  }

  // ---- lookups -----------------------------------------------------------------------------------

  /** A version of a live key (latest when version is empty), or Key Vault's 404 (keyvault.md §1.7). */
  async liveKey(ctx: VaultContext, name: string, version?: string): Promise<KeyRecord> {
    checkKeyName(name);
    const v = version ? version : undefined;
    if (v !== undefined && !isWellFormedVersion(v)) throw kvErrors.keyNotFound(name, v);
    const rec = await this.findVersion(vaultKey(ctx.vault), name.toLowerCase(), v);
    if (!rec) throw kvErrors.keyNotFound(name, v);
    if (rec.deletedAt !== null) {
      await this.purgeIfDue(rec);
      throw kvErrors.keyNotFound(name, v, true);
    }
    return rec;
  }

  /** The latest version of a soft-deleted key, or 404 "Deleted Key not found". */
  private async deletedKey(ctx: VaultContext, name: string): Promise<KeyRecord> {
    checkKeyName(name);
    const rec = await this.findVersion(vaultKey(ctx.vault), name.toLowerCase());
    if (!rec || rec.deletedAt === null || (await this.purgeIfDue(rec))) throw kvErrors.deletedKeyNotFound(name);
    return rec;
  }

  /** The service purges soft-deleted keys once their retention has passed (keyvault.md §1.5). */
  private async purgeIfDue(rec: KeyRecord): Promise<boolean> {
    if (rec.scheduledPurgeAt === null || rec.scheduledPurgeAt > this.clock.now()) return false;
    await this.store.purge(rec.vault, rec.nameKey);
    this.forget(rec.vault, rec.nameKey);
    return true;
  }

  /** The record of a version (latest when undefined), from the cache or the store. */
  private async findVersion(vault: string, nameKey: string, version?: string): Promise<KeyRecord | undefined> {
    const g = group(vault, nameKey);
    const k = version?.toLowerCase() ?? "";
    const hit = this.records.get(g, k);
    if (hit) return hit;
    const before = this.writes;
    const rec = await this.store.findVersion(vault, nameKey, version);
    if (rec && before === this.writes) this.records.set(g, k, rec);
    return rec;
  }

  /** Drops everything cached about a key; called after every write to it. */
  forget(vault: string, nameKey: string): void {
    this.writes++;
    const g = group(vault, nameKey);
    this.records.deleteGroup(g);
    this.privateOps.deleteGroup(g);
    this.publicOps.deleteGroup(g);
  }

  // ---- create, import, rotate --------------------------------------------------------------------

  private sealVersion(ctx: VaultContext, name: string, material: KeyMaterial, rest: { keyOps: JsonWebKeyOperation[]; enabled: boolean; nbfAt: number | null; expAt: number | null; tags: Record<string, string> }): NewVersion {
    const version = newHexId(16);
    const now = this.clock.now();
    return {
      name,
      version,
      kty: material.kty,
      keySize: material.keySize,
      crv: material.crv,
      publicJwk: material.publicJwk,
      privateSealed: this.box.seal(material.pkcs8, sealContext(vaultKey(ctx.vault), name.toLowerCase(), version)),
      exportable: false,
      createdAt: now,
      updatedAt: now,
      ...rest,
    };
  }

  async create(ctx: VaultContext, name: string, body: Record<string, unknown>): Promise<KeyRecord> {
    checkKeyName(name);
    const kty = requiredString(body, "kty");
    if (kty === "oct" || kty === "oct-HSM") throw kvErrors.badParameter(`Key type '${kty}' is only supported by Managed HSM, not by a key vault.`);
    if (!isRsa(kty) && !isEc(kty)) throw kvErrors.badParameter(`The key type '${kty}' is not supported. Supported: RSA, RSA-HSM, EC, EC-HSM.`);
    const int = (field: string): number | undefined => {
      const v = body[field];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "number" || !Number.isInteger(v)) throw kvErrors.badParameter(`The parameter '${field}' must be an integer.`);
      return v;
    };
    const crv = body.crv === undefined || body.crv === null ? undefined : requiredString(body, "crv");
    if (crv !== undefined && isRsa(kty)) throw kvErrors.badParameter("'crv' does not apply to RSA keys.");
    const keySize = int("key_size");
    const publicExponent = int("public_exponent");
    const attrs = parseAttributes(body);
    const keyOps = parseKeyOps(body.key_ops);
    const tags = parseTags(body.tags) ?? {};
    checkWindow(attrs.nbfAt ?? null, attrs.expAt ?? null);
    // Generate before touching the store: RSA-4096 takes up to seconds and must not hold the connection.
    const material = await generateKeyMaterial({ kty: kty as Kty, ...(keySize !== undefined ? { keySize } : {}), ...(crv ? { crv } : {}), ...(publicExponent !== undefined ? { publicExponent } : {}) });
    const v = this.sealVersion(ctx, name, material, {
      keyOps: keyOps && keyOps.length ? keyOps : defaultKeyOps(kty),
      enabled: attrs.enabled ?? true,
      nbfAt: attrs.nbfAt ?? null,
      expAt: attrs.expAt ?? null,
      tags,
    });
    return this.added(await this.store.addVersion(vaultKey(ctx.vault), name.toLowerCase(), v));
  }

  private added(rec: KeyRecord): KeyRecord {
    this.forget(rec.vault, rec.nameKey);
    return rec;
  }

  async importKey(ctx: VaultContext, name: string, body: Record<string, unknown>): Promise<KeyRecord> {
    checkKeyName(name);
    const hsm = optionalBoolean(body, "Hsm") ?? false;
    const material = importKeyMaterial(body.key, hsm);
    const jwkOps = isObject(body.key) ? parseKeyOps(body.key.key_ops) : undefined;
    const attrs = parseAttributes(body);
    const tags = parseTags(body.tags) ?? {};
    checkWindow(attrs.nbfAt ?? null, attrs.expAt ?? null);
    const v = this.sealVersion(ctx, name, material, {
      keyOps: jwkOps && jwkOps.length ? jwkOps : defaultKeyOps(material.kty),
      enabled: attrs.enabled ?? true,
      nbfAt: attrs.nbfAt ?? null,
      expAt: attrs.expAt ?? null,
      tags,
    });
    return this.added(await this.store.addVersion(vaultKey(ctx.vault), name.toLowerCase(), v));
  }

  /** A new version like the latest one; the policy's expiryTime sets its exp (keyvault.md §1.5 Rotation). */
  async rotate(ctx: VaultContext, name: string): Promise<KeyRecord> {
    const latest = await this.liveKey(ctx, name);
    const policy = (await this.store.findName(latest.vault, latest.nameKey))?.rotationPolicy;
    const material = await generateKeyMaterial({ kty: latest.kty, ...(latest.keySize ? { keySize: latest.keySize } : {}), ...(latest.crv ? { crv: latest.crv } : {}) });
    const expiry = policy?.expiryTime ? durationSeconds(policy.expiryTime) : undefined;
    const v = this.sealVersion(ctx, latest.name, material, {
      keyOps: latest.keyOps,
      enabled: true,
      nbfAt: null,
      expAt: expiry !== undefined ? this.clock.now() + expiry * 1000 : null,
      tags: latest.tags,
    });
    return this.added(await this.store.addVersion(latest.vault, latest.nameKey, v, { requireExisting: true }));
  }

  // ---- read and update ---------------------------------------------------------------------------

  /** GET refuses a disabled key like the crypto operations do (keyvault.md §1.5, §1.7). */
  async get(ctx: VaultContext, name: string, version?: string): Promise<KeyRecord> {
    const rec = await this.liveKey(ctx, name, version);
    checkKeyUse(rec, "get", this.clock.now());
    return rec;
  }

  async update(ctx: VaultContext, name: string, version: string | undefined, body: Record<string, unknown>): Promise<KeyRecord> {
    const rec = await this.liveKey(ctx, name, version);
    const attrs = parseAttributes(body);
    const keyOps = parseKeyOps(body.key_ops);
    const tags = parseTags(body.tags);
    const nbfAt = attrs.nbfAt !== undefined ? attrs.nbfAt : rec.nbfAt;
    const expAt = attrs.expAt !== undefined ? attrs.expAt : rec.expAt;
    checkWindow(nbfAt, expAt);
    const now = this.clock.now();
    const patch = {
      ...(attrs.enabled !== undefined ? { enabled: attrs.enabled } : {}),
      ...(attrs.nbfAt !== undefined ? { nbfAt: attrs.nbfAt } : {}),
      ...(attrs.expAt !== undefined ? { expAt: attrs.expAt } : {}),
      ...(keyOps !== undefined ? { keyOps } : {}),
      ...(tags !== undefined ? { tags } : {}),
      updatedAt: now,
    };
    await this.store.updateVersion(rec.vault, rec.nameKey, rec.version, patch);
    this.forget(rec.vault, rec.nameKey);
    return { ...rec, ...patch };
  }

  async list(ctx: VaultContext, after: string | undefined, max: number): Promise<Page> {
    const rows = await this.store.listLive(vaultKey(ctx.vault), after, max + 1);
    return rows.length > max ? { items: rows.slice(0, max), next: rows[max - 1]!.nameKey } : { items: rows };
  }

  async listVersions(ctx: VaultContext, name: string, after: number | undefined, max: number): Promise<Page> {
    checkKeyName(name);
    const rows = await this.store.listVersions(vaultKey(ctx.vault), name.toLowerCase(), after ?? 0, max + 1);
    // A deleted key's versions are not listed (it lives under /deletedkeys now).
    if (rows.some((r) => r.deletedAt !== null)) return { items: [] };
    return rows.length > max ? { items: rows.slice(0, max), next: rows[max - 1]!.seq } : { items: rows };
  }

  // ---- soft delete, recover, purge (keyvault.md §1.5) ----------------------------------------------

  async remove(ctx: VaultContext, name: string): Promise<KeyRecord> {
    const rec = await this.liveKey(ctx, name);
    const now = this.clock.now();
    if (!ctx.vault.enableSoftDelete) {
      await this.store.purge(rec.vault, rec.nameKey);
      this.forget(rec.vault, rec.nameKey);
      return rec;
    }
    const purgeAt = scheduledPurgeAt(ctx.vault, now);
    const deleted = await this.store.softDelete(rec.vault, rec.nameKey, now, purgeAt);
    this.forget(rec.vault, rec.nameKey);
    if (!deleted) throw kvErrors.keyNotFound(name);
    return { ...rec, deletedAt: now, scheduledPurgeAt: purgeAt };
  }

  getDeleted(ctx: VaultContext, name: string): Promise<KeyRecord> {
    return this.deletedKey(ctx, name);
  }

  async listDeleted(ctx: VaultContext, after: string | undefined, max: number): Promise<Page> {
    for (const nameKey of await this.store.purgeDue(vaultKey(ctx.vault), this.clock.now())) this.forget(vaultKey(ctx.vault), nameKey);
    const rows = await this.store.listDeleted(vaultKey(ctx.vault), after, max + 1);
    return rows.length > max ? { items: rows.slice(0, max), next: rows[max - 1]!.nameKey } : { items: rows };
  }

  async recover(ctx: VaultContext, name: string): Promise<KeyRecord> {
    const rec = await this.deletedKey(ctx, name);
    const recovered = await this.store.recover(rec.vault, rec.nameKey);
    this.forget(rec.vault, rec.nameKey);
    if (!recovered) throw kvErrors.deletedKeyNotFound(name);
    return { ...rec, deletedAt: null, scheduledPurgeAt: null };
  }

  async purge(ctx: VaultContext, name: string): Promise<void> {
    const rec = await this.deletedKey(ctx, name);
    if (ctx.vault.enablePurgeProtection) throw kvErrors.purgeProtected(`${ctx.vault.name};location=${ctx.vault.location}`);
    await this.store.purge(rec.vault, rec.nameKey);
    this.forget(rec.vault, rec.nameKey);
  }

  // ---- rotation policy ---------------------------------------------------------------------------

  async getRotationPolicy(ctx: VaultContext, name: string): Promise<{ name: string; policy: RotationPolicy | null }> {
    const rec = await this.liveKey(ctx, name);
    const row = await this.store.findName(rec.vault, rec.nameKey);
    return { name: rec.name, policy: row?.rotationPolicy ?? null };
  }

  async setRotationPolicy(ctx: VaultContext, name: string, body: Record<string, unknown>): Promise<{ name: string; policy: RotationPolicy }> {
    const rec = await this.liveKey(ctx, name);
    const parsed = parseRotationPolicy(body);
    const row = await this.store.findName(rec.vault, rec.nameKey);
    const now = this.clock.now();
    const policy: RotationPolicy = { ...parsed, createdAt: row?.rotationPolicy?.createdAt ?? now, updatedAt: now };
    await this.store.setRotationPolicy(rec.vault, rec.nameKey, policy);
    return { name: rec.name, policy };
  }

  // ---- crypto (keyvault.md §1.2; sdk-compat.md §3.4) -----------------------------------------------

  /** A usable version for `use`: live, enabled, listed in key_ops and, where it matters, inside nbf/exp. */
  async keyFor(ctx: VaultContext, name: string, version: string | undefined, use: KeyUse): Promise<KeyRecord> {
    const rec = await this.liveKey(ctx, name, version);
    checkKeyUse(rec, use, this.clock.now());
    return rec;
  }

  publicOpsFor(rec: KeyRecord): PublicKeyOps {
    const g = group(rec.vault, rec.nameKey);
    let ops = this.publicOps.get(g, rec.version);
    if (!ops) {
      ops = new PublicKeyOps(rec.kty, rec.publicJwk);
      this.publicOps.set(g, rec.version, ops);
    }
    return ops;
  }

  /** Decrypted private keys stay cached; the sealed copy is opened once per version (issue 3 §5). */
  privateOpsFor(rec: KeyRecord): PrivateKeyOps {
    const g = group(rec.vault, rec.nameKey);
    let ops = this.privateOps.get(g, rec.version);
    if (!ops) {
      const der = this.box.open(rec.privateSealed, sealContext(rec.vault, rec.nameKey, rec.version));
      try {
        ops = new PrivateKeyOps(rec.kty, rec.crv, der);
      } finally {
        der.fill(0);
      }
      this.privateOps.set(g, rec.version, ops);
    }
    return ops;
  }

  /** The vault was purged: its keys (and their sealed material) go with it. */
  async forgetVault(vault: { uid: string }): Promise<void> {
    const v = vaultKey(vault);
    await this.store.forgetVault(v);
    this.writes++;
    for (const cache of [this.records, this.privateOps, this.publicOps] as GroupedLru<unknown>[]) cache.deleteGroupsWithPrefix(`${v}/`);
  }

  /** Open the sealed private key of a record (backup only). */
  openPrivate(rec: KeyRecord): Buffer {
    return this.box.open(rec.privateSealed, sealContext(rec.vault, rec.nameKey, rec.version));
  }

  sealFor(vault: VaultRecord, nameKey: string, version: string, pkcs8: Buffer): string {
    return this.box.seal(pkcs8, sealContext(vaultKey(vault), nameKey, version));
  }

  now(): number {
    return this.clock.now();
  }
}

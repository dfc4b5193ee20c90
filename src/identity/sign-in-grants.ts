import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../storage/index.js";
import type { Clock } from "../platform/index.js";
import { entraErrors } from "./domain/entra-errors.js";
import { isVerifier, verifierMatches } from "./domain/pkce.js";

/** Entra's authorization codes live for minutes; tdekv's for 60 s on its own clock (issue 9 §1). */
export const CODE_LIFETIME_MS = 60_000;
/** Entra's refresh tokens for single-page apps expire after 24 hours. */
export const REFRESH_LIFETIME_MS = 24 * 3_600_000;
/** How long a sign-in page stays usable between GET and POST. */
export const PAGE_LIFETIME_MS = 10 * 60_000;
/** Bounds on in-memory state, so a flood of unfinished sign-ins cannot grow the process without limit. */
const MAX_PENDING = 2_000;

/** What the authorize request asked for, checked; held between showing the page and its POST. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  /** The space-separated scope as asked, and the one resource it names. */
  scope: string;
  resource: string;
  challenge: string;
  state?: string;
  nonce?: string;
  responseMode: "query" | "fragment";
  /** Tenant the request was addressed to; undefined for organizations/common. */
  tenantId?: string;
}

interface PendingPage {
  request: AuthorizationRequest;
  expiresAt: number;
}

export interface CodeGrant {
  request: AuthorizationRequest;
  userObjectId: string;
  tenantId: string;
  expiresAt: number;
  redeemed: boolean;
  /** Refresh token issued from this code: revoked if the code is replayed (RFC 6749 §4.1.2). */
  refreshHash?: string;
}

export interface RefreshGrant {
  objectId: string;
  tenantId: string;
  clientId: string;
  scope: string;
}

const token = () => randomBytes(32).toString("base64url");
const hash = (t: string) => createHash("sha256").update(t).digest("base64url");

/**
 * The state of user sign-ins: pages shown (their one-time form token), authorization codes (random,
 * single-use, bound to client, redirect URI, PKCE challenge, user and scope) and refresh tokens (opaque;
 * only a hash is stored, revocable). Codes and pages stay in memory: a restart simply makes the user sign
 * in again, as an expired code would.
 */
export class SignInGrants {
  private readonly pages = new Map<string, PendingPage>();
  private readonly codes = new Map<string, CodeGrant>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Remembers a checked authorize request; the returned token is the page's one-time CSRF token. */
  beginPage(request: AuthorizationRequest): string {
    this.prune();
    const t = token();
    this.pages.set(t, { request, expiresAt: this.clock.now() + PAGE_LIFETIME_MS });
    return t;
  }

  /** Takes a page's request back, once; undefined when unknown, used or expired. */
  takePage(t: string): AuthorizationRequest | undefined {
    const page = this.pages.get(t);
    if (!page) return undefined;
    this.pages.delete(t);
    return page.expiresAt > this.clock.now() ? page.request : undefined;
  }

  issueCode(request: AuthorizationRequest, user: { objectId: string; tenantId: string }): string {
    this.prune();
    const code = token();
    this.codes.set(hash(code), { request, userObjectId: user.objectId, tenantId: user.tenantId, expiresAt: this.clock.now() + CODE_LIFETIME_MS, redeemed: false });
    return code;
  }

  /** Checks and spends a code. Replaying a spent code revokes what it bought. */
  async redeemCode(code: string, args: { clientId: string; redirectUri: string; verifier: string }): Promise<CodeGrant> {
    const key = hash(code);
    const grant = this.codes.get(key);
    if (!grant) throw entraErrors.codeInvalid();
    if (grant.redeemed) {
      if (grant.refreshHash) await this.revokeHash(grant.refreshHash);
      throw entraErrors.codeRedeemed();
    }
    if (grant.expiresAt <= this.clock.now()) throw entraErrors.codeExpired();
    if (grant.request.clientId !== args.clientId.toLowerCase()) throw entraErrors.codeInvalid();
    if (grant.request.redirectUri !== args.redirectUri) throw entraErrors.replyAddressMismatch(args.redirectUri, grant.request.redirectUri);
    if (!args.verifier) throw entraErrors.missingField("code_verifier");
    if (!isVerifier(args.verifier)) throw entraErrors.verifierInvalid();
    if (!verifierMatches(args.verifier, grant.request.challenge)) throw entraErrors.verifierMismatch();
    grant.redeemed = true;
    return grant;
  }

  async issueRefreshToken(grant: CodeGrant | RefreshGrant): Promise<string> {
    const t = token();
    const now = this.clock.now();
    const g = "request" in grant ? { objectId: grant.userObjectId, tenantId: grant.tenantId, clientId: grant.request.clientId, scope: grant.request.scope } : grant;
    await this.db
      .insertInto("refresh_tokens")
      .values({ token_hash: hash(t), object_id: g.objectId, tenant_id: g.tenantId, client_id: g.clientId, scope: g.scope, created_at: now, expires_at: now + REFRESH_LIFETIME_MS, revoked_at: null })
      .execute();
    if ("request" in grant) grant.refreshHash = hash(t);
    return t;
  }

  async redeemRefreshToken(t: string, clientId: string): Promise<RefreshGrant> {
    const row = await this.db.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", hash(t)).executeTakeFirst();
    if (!row || row.client_id !== clientId.toLowerCase()) throw entraErrors.codeInvalid();
    if (row.revoked_at !== null) throw entraErrors.refreshRevoked();
    if (row.expires_at <= this.clock.now()) throw entraErrors.refreshExpired(new Date(row.created_at).toISOString());
    return { objectId: row.object_id, tenantId: row.tenant_id, clientId: row.client_id, scope: row.scope };
  }

  /** Revokes the refresh tokens of one user, or of everyone; returns how many were live. */
  async revoke(objectId?: string): Promise<number> {
    let q = this.db.updateTable("refresh_tokens").set({ revoked_at: this.clock.now() }).where("revoked_at", "is", null);
    if (objectId) q = q.where("object_id", "=", objectId.toLowerCase());
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  private async revokeHash(h: string): Promise<void> {
    await this.db.updateTable("refresh_tokens").set({ revoked_at: this.clock.now() }).where("token_hash", "=", h).where("revoked_at", "is", null).execute();
  }

  /** Drops expired pages and codes (kept a while after expiry, so a replay still reads "already redeemed"). */
  private prune(): void {
    const now = this.clock.now();
    for (const [k, p] of this.pages) if (p.expiresAt <= now) this.pages.delete(k);
    for (const [k, c] of this.codes) if (c.expiresAt + PAGE_LIFETIME_MS <= now) this.codes.delete(k);
    // A manual clock may stand still: drop the oldest beyond the bound whatever their age.
    for (const m of [this.pages, this.codes] as Map<string, unknown>[]) {
      while (m.size >= MAX_PENDING) m.delete(m.keys().next().value!);
    }
  }
}

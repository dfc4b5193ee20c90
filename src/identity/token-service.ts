import { generateKeyPair, exportJWK, importJWK, SignJWT, jwtVerify, calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, type JWK, type CryptoKey as JoseKey } from "jose";
import { randomBytes } from "node:crypto";
import type { Clock } from "../platform/index.js";
import type { Directory, Principal } from "./directory.js";
import { TokenRejected } from "./domain/errors.js";

/** Claims of a verified access token: who is calling, from which tenant, for which resource. */
export interface AccessClaims {
  oid: string;
  tid: string;
  appid: string;
  aud: string;
  /** Managed identities carry their resource id (Entra's xms_mirid). */
  xms_mirid?: string;
  exp: number;
  /** "user" for a signed-in person (portal), "app" otherwise. */
  idtyp?: string;
  /** Users only: their sign-in name, which Azure shows as "Event initiated by". */
  upn?: string;
  name?: string;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  expiresOn: number;
  notBefore: number;
  resource: string;
}

/** Entra's v1 issuer, which ARM and Key Vault tokens carry (keyvault.md §2.4). */
export const issuerFor = (tenantId: string): string => `https://sts.windows.net/${tenantId}/`;

interface SigningKey {
  kid: string;
  privateKey: JoseKey;
  publicJwk: JWK;
}

/**
 * Issues and verifies RS256 access tokens. The signing key is made once and kept sealed in the store, so
 * tokens issued before a restart stay valid after it (az caches its tokens for an hour: az-cli-compat.md §5.1).
 */
export class TokenService {
  private constructor(
    private readonly key: SigningKey,
    private readonly clock: Clock,
    private readonly lifetimeSeconds: number,
  ) {}

  static async open(directory: Directory, sealKey: (jwk: string) => string, openKey: (sealed: string) => string, clock: Clock, lifetimeSeconds: number): Promise<TokenService> {
    let sealed = await directory.getSetting("token-signing-key");
    if (!sealed) {
      const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
      sealed = sealKey(JSON.stringify(await exportJWK(privateKey)));
      await directory.setSetting("token-signing-key", sealed);
    }
    const privateJwk = JSON.parse(openKey(sealed)) as JWK;
    const kid = await calculateJwkThumbprint(privateJwk);
    const privateKey = (await importJWK(privateJwk, "RS256")) as JoseKey;
    const publicJwk: JWK = { kty: "RSA", use: "sig", kid, x5t: kid, n: privateJwk.n!, e: privateJwk.e!, alg: "RS256" };
    return new TokenService({ kid, privateKey, publicJwk }, clock, lifetimeSeconds);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  /**
   * A delegated access token for a signed-in user (authorization code / refresh token grants): the same
   * issuer, key and lifetime as app tokens, with Entra's user claims (idtyp user, upn, name, scp) and the
   * client's app id, so ARM, Key Vault and the Activity Log treat it as Azure treats a portal user.
   */
  async issueForUser(user: Principal, resource: string, clientId: string): Promise<IssuedToken> {
    const upn = user.userPrincipalName ?? "";
    return this.issue(user, resource, {
      appid: clientId,
      appidacr: "0",
      idtyp: "user",
      amr: ["pwd"],
      name: user.displayName,
      upn,
      unique_name: upn,
      scp: "user_impersonation",
    });
  }

  /** An OpenID Connect id_token (v2.0) for the client that signed the user in. */
  async idToken(user: Principal, args: { clientId: string; issuer: string; nonce?: string }): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: args.clientId,
      iss: args.issuer,
      iat: now,
      nbf: now,
      exp: now + this.lifetimeSeconds,
      name: user.displayName,
      oid: user.objectId,
      preferred_username: user.userPrincipalName ?? "",
      rh: "0.tdekv.",
      sub: user.objectId,
      tid: user.tenantId,
      uti: randomBytes(16).toString("base64url"),
      ver: "2.0",
      ...(args.nonce ? { nonce: args.nonce } : {}),
    };
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.key.kid }).sign(this.key.privateKey);
  }

  async issue(principal: Principal, resource: string, overrides: Record<string, unknown> = {}): Promise<IssuedToken> {
    const now = Math.floor(this.clock.now() / 1000);
    const exp = now + this.lifetimeSeconds;
    const claims: Record<string, unknown> = {
      aud: resource,
      iss: issuerFor(principal.tenantId),
      iat: now,
      nbf: now,
      exp,
      aio: randomBytes(12).toString("base64url"),
      appid: principal.appId,
      appidacr: principal.kind === "ServicePrincipal" ? "1" : "2",
      idp: issuerFor(principal.tenantId),
      idtyp: "app",
      oid: principal.objectId,
      rh: "0.tdekv.",
      sub: principal.objectId,
      tid: principal.tenantId,
      uti: randomBytes(16).toString("base64url"),
      ver: "1.0",
      ...overrides,
    };
    if (principal.resourceId) claims.xms_mirid = principal.resourceId;
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.key.kid, x5t: this.key.kid })
      .sign(this.key.privateKey);
    return { accessToken, expiresIn: this.lifetimeSeconds, expiresOn: exp, notBefore: now, resource };
  }

  /**
   * Verifies signature, algorithm, expiry, not-before, issuer and audience. `alg: none`, a foreign key or a
   * tampered payload all fail the signature check. Tenant-against-subscription is the caller's rule.
   */
  async verify(token: string, audiences: readonly string[]): Promise<AccessClaims> {
    if (!token) throw new TokenRejected("missing", "no token");
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new TokenRejected("malformed", "the token is not a JWT");
    }
    if (kid !== this.key.kid) throw new TokenRejected("signature", "unknown signing key");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicJwk, {
        algorithms: ["RS256"],
        currentDate: new Date(this.clock.now()),
        clockTolerance: 0,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        const exp = Number((err.payload as { exp?: number }).exp);
        throw new TokenRejected("expired", "token expired", {
          expiredAt: new Date(exp * 1000).toISOString(),
          now: new Date(this.clock.now()).toISOString(),
        });
      }
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "nbf") throw new TokenRejected("not-yet-valid", "token not yet valid");
      if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JOSEAlgNotAllowed) {
        throw new TokenRejected("signature", "signature verification failed");
      }
      throw new TokenRejected("malformed", "the token could not be validated");
    }
    const { tid, oid, appid, aud, iss, exp, xms_mirid, idtyp, upn, name } = payload as Record<string, unknown>;
    if (typeof tid !== "string" || typeof oid !== "string" || typeof aud !== "string" || typeof exp !== "number") {
      throw new TokenRejected("malformed", "required claims are missing");
    }
    if (iss !== issuerFor(tid)) throw new TokenRejected("issuer", "issuer does not match tenant", { issuer: String(iss) });
    if (!audiences.includes(aud)) throw new TokenRejected("audience", "wrong audience", { audience: aud });
    return {
      oid,
      tid,
      appid: typeof appid === "string" ? appid : "",
      aud,
      exp,
      ...(typeof xms_mirid === "string" ? { xms_mirid } : {}),
      ...(typeof idtyp === "string" ? { idtyp } : {}),
      ...(typeof upn === "string" && upn ? { upn } : {}),
      ...(typeof name === "string" ? { name } : {}),
    };
  }
}

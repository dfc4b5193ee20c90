// Sign-in for the portal: OAuth 2.0 authorization code + PKCE (S256) against tdekv's own Entra (portal.md §3.3).
// Tokens live in this module's memory only. The PKCE verifier, state and nonce sit in sessionStorage just for the
// redirect round trip and are deleted as soon as the code comes back (issue 9 §1).
import type { WhoAmI } from "./types";

/** The Azure Portal's well-known public client id, so activity log "Event initiated by" reads like Azure's. */
export const CLIENT_ID = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const ARM_SCOPE = "https://management.core.windows.net//.default openid profile offline_access";
const VAULT_SCOPE = "https://vault.azure.net/.default offline_access";
const PENDING_KEY = "tdekv.portal.signin";
/** Renew this long before expiry so a request never leaves with a token about to lapse. */
const SKEW_MS = 60_000;

export type TokenKind = "arm" | "vault";
interface Token { value: string; expiresAt: number }
interface Pending { verifier: string; state: string; nonce: string; hash: string }
interface TokenResponse { access_token: string; id_token?: string; refresh_token?: string; expires_in?: number | string }

let loginEndpoint = "";
let refreshToken = "";
let user: WhoAmI | undefined;
const tokens: Partial<Record<TokenKind, Token>> = {};
const inflight: Partial<Record<TokenKind, Promise<string>>> = {};
let signedOut = false;
const listeners = new Set<() => void>();

/** Raised when the authorize endpoint or the token endpoint says no; the shell shows it with "Sign in again". */
export class SignInError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

export const redirectUri = (): string => `${location.origin}/portal/`;
const authBase = (): string => `${loginEndpoint.replace(/\/+$/, "")}/organizations/oauth2/v2.0`;

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (n = 32): string => b64url(crypto.getRandomValues(new Uint8Array(n)));
async function challenge(verifier: string): Promise<string> {
  return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** Discovers the login endpoint the way az does: GET /metadata/endpoints on the ARM origin (same origin). */
async function discover(): Promise<void> {
  if (loginEndpoint) return;
  const res = await fetch(`${location.origin}/metadata/endpoints?api-version=2022-09-01`, { headers: { Accept: "application/json" } });
  if (!res.ok) throw new SignInError(`HTTP${res.status}`, `Cloud metadata is unavailable (HTTP ${res.status}).`);
  const body = (await res.json()) as { authentication?: { loginEndpoint?: string } };
  loginEndpoint = body.authentication?.loginEndpoint || location.origin;
}

/** Sends the browser to the authorize page; resolves never (the page unloads). */
export async function signIn(loginHint?: string): Promise<never> {
  await discover();
  const pending: Pending = { verifier: random(), state: random(16), nonce: random(16), hash: location.hash };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const q = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: "code",
    redirect_uri: redirectUri(),
    scope: ARM_SCOPE,
    code_challenge: await challenge(pending.verifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
    ...(loginHint ? { login_hint: loginHint } : {}),
  });
  location.assign(`${authBase()}/authorize?${q.toString().replace(/\+/g, "%20")}`);
  return new Promise<never>(() => {});
}

async function tokenRequest(form: Record<string, string>): Promise<TokenResponse> {
  let res: Response;
  try {
    res = await fetch(`${authBase()}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ client_id: CLIENT_ID, ...form }).toString(),
    });
  } catch {
    throw new SignInError("NetworkError", "The token endpoint could not be reached.");
  }
  const body = (await res.json().catch(() => ({}))) as TokenResponse & { error?: string; error_description?: string };
  if (!res.ok || !body.access_token) {
    throw new SignInError(body.error ?? `HTTP${res.status}`, body.error_description ?? `The token endpoint answered HTTP ${res.status}.`);
  }
  return body;
}

function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  const text = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
}

function keep(kind: TokenKind, res: TokenResponse): string {
  tokens[kind] = { value: res.access_token, expiresAt: Date.now() + Number(res.expires_in ?? 3600) * 1000 };
  if (res.refresh_token) refreshToken = res.refresh_token;
  return res.access_token;
}

/**
 * Boots the session. Returns true when signed in; otherwise it has started the redirect to the sign-in page.
 * Throws SignInError when the authorize page answered with an error (e.g. access_denied).
 */
export async function startSession(): Promise<boolean> {
  await discover();
  const url = new URL(location.href);
  const code = url.searchParams.get("code");
  const error = url.searchParams.get("error");
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (code || error) {
    const pending = raw ? (JSON.parse(raw) as Pending) : undefined;
    history.replaceState(null, "", `${url.pathname}${pending?.hash ?? ""}`);
    if (error) throw new SignInError(error, url.searchParams.get("error_description") ?? error);
    if (!pending || url.searchParams.get("state") !== pending.state) {
      throw new SignInError("invalid_state", "The sign-in response does not match a sign-in started by this tab.");
    }
    const res = await tokenRequest({ grant_type: "authorization_code", code: code ?? "", redirect_uri: redirectUri(), code_verifier: pending.verifier, scope: ARM_SCOPE });
    const claims = res.id_token ? claimsOf(res.id_token) : claimsOf(res.access_token);
    if (res.id_token && claims.nonce !== undefined && claims.nonce !== pending.nonce) {
      throw new SignInError("invalid_nonce", "The ID token's nonce does not match this sign-in.");
    }
    user = {
      name: String(claims.name ?? claims.preferred_username ?? claims.upn ?? ""),
      upn: String(claims.preferred_username ?? claims.upn ?? ""),
      oid: String(claims.oid ?? ""),
      tenantId: String(claims.tid ?? ""),
    };
    keep("arm", res);
    return true;
  }
  await signIn();
  return false;
}

/** Session over (refresh refused): back to the sign-in page, coming back to the same place afterwards. */
function sessionExpired(): Promise<never> {
  for (const k of Object.keys(tokens) as TokenKind[]) delete tokens[k];
  refreshToken = "";
  return signIn(user?.upn);
}

async function refresh(kind: TokenKind): Promise<string> {
  if (!refreshToken) return sessionExpired();
  try {
    return keep(kind, await tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken, scope: kind === "arm" ? ARM_SCOPE : VAULT_SCOPE }));
  } catch (err) {
    // 400 invalid_grant / 401: the refresh token is gone. A network error is not a reason to sign out.
    if (err instanceof SignInError && err.code !== "NetworkError") return sessionExpired();
    throw err;
  }
}

/** A bearer token for ARM (and /_tdekv) or Key Vault; `force` skips the cached one (after a 401). */
export function accessToken(kind: TokenKind, force = false): Promise<string> {
  const t = tokens[kind];
  if (!force && t && t.expiresAt - SKEW_MS > Date.now()) return Promise.resolve(t.value);
  const running = inflight[kind];
  if (running) return running;
  const p = refresh(kind).finally(() => delete inflight[kind]);
  inflight[kind] = p;
  return p;
}

export function whoAmI(): WhoAmI {
  return user ?? { name: "", upn: "", oid: "", tenantId: "" };
}

/** Forgets every token. The shell then shows the signed-out page. */
export function signOut(): void {
  for (const k of Object.keys(tokens) as TokenKind[]) delete tokens[k];
  refreshToken = "";
  signedOut = true;
  for (const l of listeners) l();
}

export const isSignedOut = (): boolean => signedOut;
export function onAuthChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { request, type Instance, type RawResponse } from "./harness.js";

/**
 * Clients for test/portal-server.test.ts, written the way a browser and the portal behave: the PKCE sign-in
 * through the real page, the token endpoint, HTTPS through the CONNECT proxy, and an SSE reader that splits
 * frames like the portal's fetch reader. Certificates are always verified against tdekv's CA.
 */
export const PORTAL_APP = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

export interface Pkce {
  verifier: string;
  challenge: string;
}

export interface Sse {
  events: { event: string; id?: string; data: any }[];
  raw: () => string;
  waitFor(pred: (e: { event: string; id?: string; data: any }) => boolean, what: string): Promise<{ event: string; id?: string; data: any }>;
  close(): void;
  status: number;
}

export function createPortalServerKit(current: () => Instance) {
  const ep = () => current().endpoints;
  const origin = () => ep().armEndpoint;
  const redirectUri = () => `${origin()}/portal/`;
  const form = (o: Record<string, string>) => ({ headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(o).toString() });
  const json = (token: string, body?: unknown) => ({
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const pkce = (): Pkce => {
    const verifier = randomBytes(32).toString("base64url");
    return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
  };

  function authorizeUrl(p: Pkce | undefined, extra: Record<string, string> = {}, tenant = "organizations"): string {
    const q = new URLSearchParams({
      client_id: PORTAL_APP,
      response_type: "code",
      redirect_uri: redirectUri(),
      scope: "https://management.core.windows.net//.default openid profile offline_access",
      state: "st-123",
      nonce: "n-456",
      ...(p ? { code_challenge: p.challenge, code_challenge_method: "S256" } : {}),
      ...extra,
    });
    return `/${tenant}/oauth2/v2.0/authorize?${q}`;
  }

  /** The sign-in page's form, read the way a browser would submit it. */
  function parseForm(html: string) {
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    const formToken = /name="form_token" value="([^"]+)"/.exec(html)?.[1];
    const users = [...html.matchAll(/<input type="radio" id="[^"]+" name="user" value="([^"]+)"( checked)?/g)].map((m) => ({ objectId: m[1]!, checked: Boolean(m[2]) }));
    assert.ok(action && formToken, "the page has a form with a one-time token");
    return { action: action.replace(/&amp;/g, "&"), formToken, users };
  }

  /** GET the page, POST the preselected user: the 302 back to the portal carries the code. */
  async function getCode(p: Pkce, extra: Record<string, string> = {}): Promise<{ code: string; state: string | null; location: URL }> {
    const page = await request(current(), "GET", authorizeUrl(p, extra));
    assert.equal(page.status, 200, page.text);
    const f = parseForm(page.text);
    const chosen = f.users.find((u) => u.checked);
    assert.ok(chosen, "one user is preselected");
    const post = await request(current(), "POST", f.action, form({ form_token: f.formToken, user: chosen.objectId }));
    assert.equal(post.status, 302, post.text);
    const location = new URL(String(post.headers.location));
    const code = location.searchParams.get("code");
    assert.ok(code, `redirect carries a code: ${location}`);
    return { code, state: location.searchParams.get("state"), location };
  }

  const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    request(current(), "POST", "/organizations/oauth2/v2.0/token", form({ grant_type: "authorization_code", client_id: PORTAL_APP, code, redirect_uri: redirectUri(), code_verifier: verifier, scope: "https://management.core.windows.net//.default openid profile offline_access", ...extra }));

  const refresh = (refreshToken: string, scope: string) =>
    request(current(), "POST", "/organizations/oauth2/v2.0/token", form({ grant_type: "refresh_token", client_id: PORTAL_APP, refresh_token: refreshToken, scope }));

  async function signIn(): Promise<{ access: string; refresh: string; id: string }> {
    const p = pkce();
    const { code } = await getCode(p);
    const res = await redeem(code, p.verifier);
    assert.equal(res.status, 200, res.text);
    return { access: res.json.access_token, refresh: res.json.refresh_token, id: res.json.id_token };
  }

  function assertEntra(res: RawResponse, status: number, error: string, aadsts: number) {
    assert.equal(res.status, status, res.text);
    assert.equal(res.json.error, error, res.text);
    assert.deepEqual(res.json.error_codes, [aadsts]);
    assert.match(res.json.error_description, new RegExp(`^AADSTS${aadsts}: `));
  }

  /** An HTTPS request to an Azure host name through tdekv's CONNECT proxy, certificate verified. */
  function viaProxy(host: string, path: string, headers: Record<string, string> = {}): Promise<{ res: http.IncomingMessage; text: () => Promise<string>; req: http.ClientRequest }> {
    return new Promise((resolve, reject) => {
      const connect = http.request({ host: "127.0.0.1", port: ep().proxyPort, method: "CONNECT", path: `${host}:443` });
      connect.on("connect", (res, socket) => {
        if (res.statusCode !== 200) return reject(new Error(`CONNECT ${res.statusCode}`));
        const req = https.request({ host, port: 443, path, headers, createConnection: () => tls.connect({ socket, servername: host, ca: current().ca }) } as https.RequestOptions, (r) =>
          resolve({ res: r, req, text: () => new Promise((ok) => { let t = ""; r.on("data", (d: Buffer) => (t += d)); r.on("end", () => ok(t)); }) }),
        );
        req.on("error", reject);
        req.end();
      });
      connect.on("error", reject);
      connect.end();
    });
  }


  /** Reads an event stream the way the portal's fetch reader does: split on blank lines, id/event/data fields. */
  function attach(res: http.IncomingMessage, req: http.ClientRequest): Sse {
    let raw = "";
    let buf = "";
    const events: Sse["events"] = [];
    const waiters = new Set<() => void>();
    res.on("data", (d: Buffer) => {
      raw += d.toString();
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          const m = /^([a-z]+): ?(.*)$/.exec(line);
          if (m) fields[m[1]!] = m[2]!;
        }
        if (fields.event) events.push({ event: fields.event, ...(fields.id ? { id: fields.id } : {}), data: JSON.parse(fields.data ?? "null") });
      }
      for (const w of waiters) w();
    });
    return {
      events,
      raw: () => raw,
      status: res.statusCode ?? 0,
      waitFor(pred, what) {
        return new Promise((resolve, reject) => {
          const check = () => {
            const hit = events.find(pred);
            if (hit) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(hit);
            }
          };
          // A bound on a condition, not a timed assertion: hints arrive in milliseconds.
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`no ${what} in:\n${raw}`));
          }, 5_000);
          waiters.add(check);
          check();
        });
      },
      close: () => req.destroy(),
    };
  }

  function openEvents(token: string | undefined, headers: Record<string, string> = {}): Promise<Sse> {
    return new Promise((resolve, reject) => {
      const req = https.request(new URL("/_tdekv/events", origin()), { ca: current().ca, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } }, (res) => resolve(attach(res, req)));
      req.on("error", reject);
      req.end();
    });
  }

  return { ep, origin, redirectUri, form, json, pkce, authorizeUrl, parseForm, getCode, redeem, refresh, signIn, assertEntra, viaProxy, attach, openEvents };
}

import fs from "node:fs";
import path from "node:path";
import type { Endpoints } from "../main.js";
import { httpsJson, type HttpsJsonResult } from "../platform/index.js";

/** How CLI commands find and talk to a running instance: its data dir's endpoints.json. */
export function readEndpoints(dataDir: string): Endpoints {
  const file = path.join(dataDir, "endpoints.json");
  if (!fs.existsSync(file)) throw new Error(`no tdekv instance has run with data dir ${dataDir} (no endpoints.json); start one with: tdekv start --data-dir ${dataDir}`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Endpoints;
}

export type HttpResult = HttpsJsonResult;

/** An HTTPS call that trusts only tdekv's CA: the CLI verifies certificates like any client. */
export function call(ep: Endpoints, method: string, urlPath: string, opts: { token?: string; json?: unknown; form?: Record<string, string> } = {}): Promise<HttpResult> {
  const url = new URL(urlPath, ep.armEndpoint);
  return httpsJson({ dial: url, method, path: url.pathname + url.search, ca: fs.readFileSync(ep.caCertFile), ...opts, timeoutMs: 10_000 });
}

export async function isRunning(ep: Endpoints): Promise<boolean> {
  try {
    return (await call(ep, "GET", "/_tdekv/health")).status === 200;
  } catch {
    return false;
  }
}

/** A management token for the bootstrap service principal, from the instance's own Entra. */
export async function adminToken(ep: Endpoints): Promise<string> {
  const res = await call(ep, "POST", `/${ep.tenantId}/oauth2/v2.0/token`, {
    form: { grant_type: "client_credentials", client_id: ep.clientId, client_secret: ep.clientSecret, scope: "https://management.azure.com/.default" },
  });
  const body = res.body as { access_token?: string; error_description?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`could not get a token: ${body.error_description ?? res.status}`);
  return body.access_token;
}

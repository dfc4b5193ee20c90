import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import type { Endpoints } from "../main.js";

/** How CLI commands find and talk to a running instance: its data dir's endpoints.json. */
export function readEndpoints(dataDir: string): Endpoints {
  const file = path.join(dataDir, "endpoints.json");
  if (!fs.existsSync(file)) throw new Error(`no tdekv instance has run with data dir ${dataDir} (no endpoints.json); start one with: tdekv start --data-dir ${dataDir}`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Endpoints;
}

export interface HttpResult {
  status: number;
  body: unknown;
}

/** An HTTPS call that trusts only tdekv's CA: the CLI verifies certificates like any client. */
export function call(ep: Endpoints, method: string, urlPath: string, opts: { token?: string; json?: unknown; form?: Record<string, string> } = {}): Promise<HttpResult> {
  const url = new URL(urlPath, ep.armEndpoint);
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (opts.json !== undefined) {
    payload = JSON.stringify(opts.json);
    headers["content-type"] = "application/json";
  } else if (opts.form) {
    payload = new URLSearchParams(opts.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const ca = fs.readFileSync(ep.caCertFile);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          /* keep text */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`timed out calling ${url.origin}`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
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

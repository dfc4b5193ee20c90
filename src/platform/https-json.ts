import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";

export interface HttpsJsonResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, the raw text when it is not JSON, or undefined for an empty body. */
  body: unknown;
}

export interface HttpsJsonRequest {
  /** Where to dial (scheme, host, port); the path comes from `path`. */
  dial: URL;
  method: string;
  path: string;
  /** The CA to trust: tdekv's own, never "accept anything". */
  ca: Buffer | string;
  /** Host header and TLS server name when they differ from the dialled host (proxy-style names). */
  host?: string;
  token?: string;
  json?: unknown;
  form?: Record<string, string>;
  timeoutMs: number;
}

/**
 * One HTTPS request to a tdekv instance with a JSON or form body, answered as parsed JSON. Shared by the CLI
 * and `tdekv doctor`, which both talk to a running instance the way any client would.
 */
export function httpsJson(r: HttpsJsonRequest): Promise<HttpsJsonResult> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (r.host) headers.host = r.host;
  let payload: string | undefined;
  if (r.json !== undefined) {
    payload = JSON.stringify(r.json);
    headers["content-type"] = "application/json";
  } else if (r.form) {
    payload = new URLSearchParams(r.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  const servername = (r.host ?? r.dial.hostname).replace(/:\d+$/, "");
  return new Promise((resolve, reject) => {
    const req = https.request(
      { hostname: r.dial.hostname, port: r.dial.port || 443, path: r.path, method: r.method, headers, ca: r.ca, servername, timeout: r.timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out calling https://${r.host ?? r.dial.host}${r.path.split("?")[0]}`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

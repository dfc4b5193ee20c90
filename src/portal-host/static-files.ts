import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { type SurfaceRequest, type SurfaceResponse, header } from "../platform/index.js";

/**
 * The portal's static files (issue 9 §1), built by `npm run build` into dist/portal/. Resolved from the
 * package root, so the same path serves `node bin/tdekv.js` (dist/portal-host/) and tsx (src/portal-host/).
 */
export const PORTAL_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "portal");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt", ".webmanifest"]);

/**
 * The portal's CSP (portal.md §4.4): only tdekv's own origins. ARM and (direct mode) the token endpoint are
 * this origin; Key Vault is `{vault}.vault.localhost:PORT` in direct mode, and in proxy mode the portal is
 * on management.azure.com and talks to *.vault.azure.net and login.microsoftonline.com through the proxy.
 */
export function portalCsp(host: string): string {
  const h = host.toLowerCase();
  const proxied = h.replace(/:\d+$/, "") === "management.azure.com";
  const port = /:(\d+)$/.exec(h)?.[1];
  const connect = proxied ? "'self' https://login.microsoftonline.com https://*.vault.azure.net" : `'self' https://*.vault.localhost${port ? `:${port}` : ""}`;
  return [
    "default-src 'self'",
    `connect-src ${connect}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

interface Cached {
  mtimeMs: number;
  size: number;
  raw: Buffer;
  gzip?: Buffer;
  etag: string;
}

const securityHeaders = (host: string) => ({
  "content-security-policy": portalCsp(host),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
});

function notBuilt(dir: string): SurfaceResponse {
  return {
    status: 503,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": "default-src 'none'", "x-content-type-options": "nosniff", "retry-after": "5" },
    body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tdekv portal not built</title></head>
<body><main><h1>portal not built: run npm run build</h1><p>tdekv serves the portal from <code>${dir.replace(/[&<>]/g, "")}</code>, which has no index.html.</p></main></body></html>
`,
  };
}

const plain = (status: number, text: string, extra: Record<string, string> = {}): SurfaceResponse => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff", ...extra },
  body: `${text}\n`,
});

/** Serves `/portal/...` from `dir`. Never leaves it: `..`, backslashes, NULs and absolute paths are refused. */
export function createStaticFiles(dir: string = PORTAL_DIST) {
  const root = path.resolve(dir);
  const cache = new Map<string, Cached>();

  function load(file: string): Cached | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const raw = fs.readFileSync(file);
    const ext = path.extname(file).toLowerCase();
    const entry: Cached = { mtimeMs: st.mtimeMs, size: st.size, raw, etag: `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
    if (COMPRESSIBLE.has(ext) && raw.length > 512) entry.gzip = gzipSync(raw);
    cache.set(file, entry);
    return entry;
  }

  return function serve(req: SurfaceRequest, rel: string): SurfaceResponse {
    if (req.method !== "GET" && req.method !== "HEAD") return plain(405, `The portal's files are read-only: ${req.method} is not allowed.`, { allow: "GET, HEAD" });
    if (!fs.existsSync(path.join(root, "index.html"))) return notBuilt(root);
    let name: string;
    try {
      name = decodeURIComponent(rel);
    } catch {
      return plain(400, "The path is not valid percent-encoding.");
    }
    if (name === "") name = "index.html";
    if (name.includes("\0") || name.includes("\\") || name.startsWith("/") || name.split("/").some((s) => s === ".." || s === "." || s === "")) {
      return plain(400, "The path is not a portal file.");
    }
    const file = path.resolve(root, name);
    if (!file.startsWith(root + path.sep)) return plain(400, "The path is not a portal file.");
    const entry = load(file);
    if (!entry) return plain(404, `The portal has no file '${name}'.`);
    const ext = path.extname(file).toLowerCase();
    const headers: Record<string, string> = {
      "content-type": TYPES[ext] ?? "application/octet-stream",
      // no-cache: revalidate every time (ETag), so a rebuilt portal is picked up on the next load.
      "cache-control": "no-cache",
      etag: entry.etag,
      vary: "accept-encoding",
      ...securityHeaders(req.host),
    };
    if (header(req, "if-none-match") === entry.etag) return { status: 304, headers };
    const gzip = entry.gzip && /\bgzip\b/i.test(header(req, "accept-encoding") ?? "");
    if (gzip) headers["content-encoding"] = "gzip";
    return { status: 200, headers, body: gzip ? entry.gzip : entry.raw };
  };
}

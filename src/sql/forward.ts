import https from "node:https";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import type { RemoteOwner } from "./data-access.js";

/** Marks a request one node forwarded to another: the owner serves it itself, never forwards it again. */
export const FORWARDED = "x-tdekv-forwarded-by";
/** The owner must answer a forwarded request within this (the routes' own work is bounded alike). */
const FORWARD_TIMEOUT_MS = 120_000;
/** A forwarded answer larger than this is refused rather than buffered. */
const MAX_FORWARDED_ANSWER = 256 * 1024 * 1024;
/** Request headers a forward carries besides the body's type and length. */
const PASSED_REQUEST_HEADERS = ["authorization", "x-ms-client-request-id", "x-ms-correlation-request-id", "if-match", "if-none-match"];
/**
 * Answer headers a forward hands back. Polling URLs name the owner's front door; they are rewritten to the
 * front door the client used, which serves them too (operations live in the shared store).
 */
const PASSED_ANSWER_HEADERS = ["content-type", "location", "azure-asyncoperation", "retry-after", "etag", "x-ms-request-id"];

export class OwnerUnreachable extends Error {}

/**
 * Sends the request unchanged (method, path and query, body, Authorization) to the owner's front door,
 * verifying its certificate against the owner's CA only, and returns its answer as it is (issue 11 §3).
 */
export function forward(req: SurfaceRequest, owner: RemoteOwner, self: string): Promise<SurfaceResponse> {
  return new Promise((resolve, reject) => {
    const query = req.query.toString();
    const url = new URL(req.path + (query ? `?${query}` : ""), owner.httpsUrl);
    const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(req.body.length), [FORWARDED]: self || "node" };
    for (const h of PASSED_REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    const ownerOrigin = new URL(owner.httpsUrl).origin;
    const r = https.request(url, { method: req.method, headers, ca: owner.caPem, timeout: FORWARD_TIMEOUT_MS }, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        size += d.length;
        if (size > MAX_FORWARDED_ANSWER) return res.destroy(new Error("the owner's answer is too large"));
        parts.push(d);
      });
      res.on("error", (err) => reject(new OwnerUnreachable(err.message)));
      res.on("end", () => {
        const out: Record<string, string> = {};
        for (const h of PASSED_ANSWER_HEADERS) {
          const v = res.headers[h];
          if (typeof v === "string") out[h] = v.startsWith(ownerOrigin) ? req.origin + v.slice(ownerOrigin.length) : v;
        }
        resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(parts) });
      });
    });
    r.on("timeout", () => r.destroy(new Error("the owner did not answer in time")));
    r.on("error", (err) => reject(new OwnerUnreachable(err.message)));
    r.end(req.body);
  });
}

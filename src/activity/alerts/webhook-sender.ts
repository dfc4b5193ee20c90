import http from "node:http";
import https from "node:https";

/**
 * POSTs a JSON payload to a receiver's URL (webhook serviceUri, logic app callbackUrl, runbook serviceUri,
 * function httpTriggerUrl). Whatever the URL carries (Logic Apps put a `sig` in the query) stays out of
 * results and logs: logs only ever see `originOf(url)`.
 */
export interface SendResult {
  ok: boolean;
  /** Worth another attempt, as Azure decides it: no response, a timeout, 408, 429, 503 or 504. */
  retryable: boolean;
  /** e.g. "HTTP 200", "HTTP 503", "ECONNREFUSED", "timed out after 10000 ms" — never a body or a URL query. */
  detail: string;
}

/** How long tdekv waits for a receiver's answer before counting the attempt as "no response". */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** action-groups.md "Webhook retry behavior": only these answers are retried; any other non-2xx is final. */
const RETRYABLE = new Set([408, 429, 503, 504]);

/** Scheme and host only: some webhook URLs carry their secret in the path (Slack, Teams), others in the query. */
export const originOf = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(invalid url)";
  }
};

export function postJson(url: string, body: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SendResult> {
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: SendResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      done({ ok: false, retryable: false, detail: "invalid URL" });
      return;
    }
    const client = u.protocol === "https:" ? https : http;
    const req = client.request(
      u,
      {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), "user-agent": "tdekv-action-groups/1.0" },
        timeout: timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.on("end", () => done({ ok: status >= 200 && status < 300, retryable: RETRYABLE.has(status), detail: `HTTP ${status}` }));
        res.on("error", () => done({ ok: false, retryable: true, detail: `HTTP ${status}, response aborted` }));
      },
    );
    req.on("timeout", () => {
      req.destroy();
      done({ ok: false, retryable: true, detail: `timed out after ${timeoutMs} ms` });
    });
    // The code only (ECONNREFUSED, CERT_HAS_EXPIRED, ...): some messages quote the URL.
    req.on("error", (err: NodeJS.ErrnoException) => done({ ok: false, retryable: true, detail: err.name === "AbortError" ? "aborted (tdekv stopping)" : (err.code ?? err.name) }));
    req.end(body);
  });
}

import { createHash } from "node:crypto";
import type { SurfaceResponse } from "../../platform/index.js";

/**
 * tdekv's sign-in page: the authorize endpoint's UI (portal.md §3.3). Plain and tdekv-branded on purpose:
 * it must not look like Microsoft's sign-in page. No script at all; one inline style, allowed by its hash,
 * so the CSP can be `default-src 'none'`. Light and dark schemes both meet WCAG 2.2 AA contrast.
 */
const STYLE = `
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1b1b1b;--muted:#4a4a4a;--line:#8a8a8a;--accent:#0f5ea8;--on-accent:#ffffff;--warn-bg:#fff4ce;--warn-fg:#3d2f00;--err-bg:#fde7e9;--err-fg:#6e0811;--focus:#0f5ea8}
@media (prefers-color-scheme:dark){:root{--bg:#1b1b1b;--fg:#f3f3f3;--muted:#c8c8c8;--line:#9a9a9a;--accent:#6cb8ff;--on-accent:#0b0b0b;--warn-bg:#3d3100;--warn-fg:#fff4ce;--err-bg:#4a0b12;--err-fg:#ffdfe2;--focus:#6cb8ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{padding:.75rem 1rem;border-bottom:1px solid var(--line)}
.brand{margin:0;font-weight:700}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
.note{padding:.75rem;border-left:4px solid currentColor;background:var(--warn-bg);color:var(--warn-fg)}
.error{padding:.75rem;border-left:4px solid currentColor;background:var(--err-bg);color:var(--err-fg);overflow-wrap:anywhere}
fieldset{border:1px solid var(--line);padding:.5rem 1rem;margin:1rem 0}
legend{padding:0 .25rem;font-weight:600}
.user{display:flex;gap:.5rem;align-items:flex-start;padding:.5rem 0}
.user input{margin-top:.3rem;width:1.1rem;height:1.1rem}
.user span{display:block}
.sub{color:var(--muted);font-size:.9rem;overflow-wrap:anywhere}
button{font:inherit;padding:.5rem 1.5rem;border:2px solid var(--accent);background:var(--accent);color:var(--on-accent);border-radius:4px;cursor:pointer}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
code{overflow-wrap:anywhere}
`;

const STYLE_HASH = `sha256-${createHash("sha256").update(STYLE).digest("base64")}`;

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The page's CSP: nothing but the hashed style; forms may post here and, after the redirect, to the portal. */
export function signInCsp(formTargets: string[] = []): string {
  return [
    "default-src 'none'",
    `style-src '${STYLE_HASH}'`,
    `form-action 'self'${formTargets.map((o) => ` ${o}`).join("")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

function page(status: number, title: string, main: string, formTargets: string[] = []): SurfaceResponse {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><p class="brand">tdekv <span class="sub">local Azure emulator</span></p></header>
<main>
${main}
</main>
</body>
</html>
`;
  return {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      pragma: "no-cache",
      "content-security-policy": signInCsp(formTargets),
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    },
    body: html,
  };
}

export interface SignInUser {
  objectId: string;
  displayName: string;
  userPrincipalName: string;
  tenantName: string;
}

export const SIGN_IN_TITLE = "Sign in to tdekv (local)";

export function signInPage(args: { action: string; formToken: string; clientName: string; redirectUri: string; users: SignInUser[]; selected?: string }): SurfaceResponse {
  const selected = args.users.some((u) => u.objectId === args.selected) ? args.selected : args.users[0]?.objectId;
  const radios = args.users
    .map(
      (u, i) => `<div class="user"><input type="radio" id="user-${i}" name="user" value="${escapeHtml(u.objectId)}"${u.objectId === selected ? " checked" : ""} required>
<label for="user-${i}"><span>${escapeHtml(u.displayName)}</span><span class="sub" translate="no">${escapeHtml(u.userPrincipalName)}</span><span class="sub">Directory: ${escapeHtml(u.tenantName)}</span></label></div>`,
    )
    .join("\n");
  const target = new URL(args.redirectUri).origin;
  return page(
    200,
    SIGN_IN_TITLE,
    `<h1>${SIGN_IN_TITLE}</h1>
<p class="note"><strong>This is not Microsoft Entra ID.</strong> It is the sign-in page of tdekv, an emulator running on this machine. It never asks for a password: do not type real credentials anywhere here.</p>
<p>${escapeHtml(args.clientName)} asks you to sign in, then returns you to <code translate="no">${escapeHtml(args.redirectUri)}</code>.</p>
<form method="post" action="${escapeHtml(args.action)}">
<input type="hidden" name="form_token" value="${escapeHtml(args.formToken)}">
<fieldset>
<legend>Choose a user</legend>
${radios}
</fieldset>
<button type="submit">Sign in</button>
</form>`,
    [target],
  );
}

/** Errors that cannot go back to the client (unknown app, untrusted redirect URI): shown, never redirected. */
export function signInErrorPage(status: number, message: string, trace: { requestId: string; correlationId: string; timestamp: string }): SurfaceResponse {
  return page(
    status,
    "Sign in to tdekv (local): error",
    `<h1>Sorry, tdekv could not sign you in</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p class="sub">Request Id: <code>${escapeHtml(trace.requestId)}</code><br>Correlation Id: <code>${escapeHtml(trace.correlationId)}</code><br>Timestamp: <time datetime="${escapeHtml(trace.timestamp)}">${escapeHtml(trace.timestamp)}</time></p>
<p>Open the portal again to start a new sign-in.</p>`,
  );
}

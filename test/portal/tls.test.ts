import assert from "node:assert/strict";
import crypto from "node:crypto";
import tls from "node:tls";
import { after, before, test } from "node:test";
import { launchChromium, startPortalSuite, type PortalSuite } from "./harness.js";

/**
 * portal.md §3.8 #1 and §3.4: the portal is served over tdekv's own TLS and certificate checks stay ON.
 * A browser that does not trust tdekv's CA refuses it; trusting the CA through an NSS store works, and so does
 * pinning the leaf's SPKI. Never ignoreHTTPSErrors.
 */
let s: PortalSuite;
before(async () => {
  s = await startPortalSuite();
});
after(() => s?.stop());

test("tls: a browser that does not trust tdekv's CA refuses the portal", { timeout: 120_000 }, async () => {
  const { browser } = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    await assert.rejects(page.goto(s.portalUrl), /net::ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await browser.close();
  }
});

test("tls: with tdekv's CA in the NSS store the portal loads, signs in and shows the shell", { timeout: 120_000 }, async () => {
  const page = await s.newPage();
  const res = await page.goto(s.portalUrl);
  // The SPA's document came over verified TLS; it then sends the browser to the sign-in page.
  assert.ok(res);
  await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
  const started = performance.now();
  await s.signIn(page);
  await page.getByRole("heading", { level: 1, name: "All resources" }).waitFor();
  // issue 9 §5 budget (≤ 1 s on loopback), printed rather than asserted: timing is not a pass/fail signal on CI.
  console.log(`first load (Sign in clicked → All resources rendered): ${Math.round(performance.now() - started)} ms`);
  const nav = (await page.evaluate(`(() => { const n = performance.getEntriesByType("navigation")[0]; return { proto: n.nextHopProtocol, load: Math.round(n.loadEventEnd) }; })()`)) as { proto: string; load: number };
  console.log(`portal document: ${nav.proto}, load event at ${nav.load} ms`);
  assert.equal(new URL(page.url()).protocol, "https:");
  await s.done(page);
});

/** base64 SHA-256 of the served leaf certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
function leafSpki(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca }, () => {
      const cert = sock.getPeerX509Certificate();
      sock.end();
      if (!cert) return reject(new Error("no peer certificate"));
      resolve(crypto.createHash("sha256").update(cert.publicKey.export({ type: "spki", format: "der" })).digest("base64"));
    });
    sock.on("error", reject);
  });
}

test("tls: pinning the leaf's SPKI (not the CA's) also loads the portal", { timeout: 120_000 }, async () => {
  const spki = await leafSpki(s.inst.endpoints.httpsPort, s.inst.ca);
  const { browser } = await launchChromium({ args: [`--ignore-certificate-errors-spki-list=${spki}`] });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(s.portalUrl);
    await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
  } finally {
    await browser.close();
  }
});

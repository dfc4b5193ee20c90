import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BOOTSTRAP_USER, launchChromium, startPortalSuite, type PortalSuite } from "./harness.js";

/**
 * portal.md §3.8 #2: the portal signs in with authorization code + PKCE (S256) through tdekv's own sign-in page,
 * keeps its tokens in memory only, and greets the user by name.
 */
let s: PortalSuite;
before(async () => {
  s = await startPortalSuite();
});
after(() => s?.stop());

test("sign-in: authorization code + PKCE S256, tokens only in memory, the home names the user", { timeout: 120_000 }, async () => {
  const page = await s.newPage();
  const authorize: URL[] = [];
  const tokenPosts: URLSearchParams[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.endsWith("/oauth2/v2.0/authorize") && r.method() === "GET") authorize.push(u);
    if (u.pathname.endsWith("/oauth2/v2.0/token") && r.method() === "POST") tokenPosts.push(new URLSearchParams(r.postData() ?? ""));
  });
  const tokenResponse = page.waitForResponse((r) => r.url().endsWith("/oauth2/v2.0/token") && r.request().method() === "POST");

  await page.goto(s.portalUrl);
  await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
  await s.shot(page, "signin");
  assert.equal(authorize.length, 1);
  const q = authorize[0]!.searchParams;
  assert.equal(authorize[0]!.origin, s.portalOrigin, "direct mode: the login endpoint is tdekv's own origin (cloud metadata)");
  assert.equal(authorize[0]!.pathname, "/organizations/oauth2/v2.0/authorize");
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.match(q.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/, "a base64url SHA-256");
  assert.equal(q.get("client_id"), "c44b4083-3bb0-49c1-b47d-974e53cbdf3c");
  assert.equal(q.get("redirect_uri"), s.portalUrl);
  assert.equal(q.get("scope"), "https://management.core.windows.net//.default openid profile offline_access");
  assert.ok(q.get("state") && q.get("nonce"));

  await s.signIn(page);
  const tokens = (await (await tokenResponse).json()) as { access_token: string; refresh_token: string; id_token: string };
  assert.equal(tokenPosts.length >= 1, true);
  const redeem = tokenPosts[0]!;
  assert.equal(redeem.get("grant_type"), "authorization_code");
  assert.match(redeem.get("code_verifier") ?? "", /^[A-Za-z0-9_-]{43,128}$/);
  assert.equal(redeem.get("redirect_uri"), s.portalUrl);

  // The home names the signed-in user, and the address bar no longer carries the code.
  const banner = page.getByRole("banner");
  await banner.getByText(BOOTSTRAP_USER.name, { exact: true }).waitFor();
  await page.getByRole("heading", { level: 1, name: "All resources" }).waitFor();
  assert.equal(new URL(page.url()).search, "");
  await s.shot(page, "home");
  await s.aria(page, "home");

  // Tokens live in memory only: nothing in either Web Storage, not even the PKCE leftovers.
  // (A string, not a function: tsx would wrap a named inner function in a helper the page does not have.)
  const stored = await page.evaluate(`({
    local: Object.entries(localStorage).map(([k, v]) => k + "=" + v),
    session: Object.entries(sessionStorage).map(([k, v]) => k + "=" + v),
  })`);
  assert.deepEqual(stored, { local: [], session: [] });
  for (const secret of [tokens.access_token, tokens.refresh_token, tokens.id_token]) {
    assert.ok(secret && !page.url().includes(secret));
  }

  // A reload forgets the session (memory only) and goes back through the sign-in page.
  await page.reload();
  await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
  await s.signIn(page);

  // Sign out discards the tokens; "Sign in" starts a new sign-in.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { level: 1, name: "You signed out of tdekv portal" }).waitFor();
  await page.getByRole("button", { name: "Sign in" }).click();
  await s.signIn(page);
  await s.done(page);
});

test("sign-in: through tdekv's proxy the portal is https://management.azure.com/portal/ and signs in there", { timeout: 120_000 }, async () => {
  // Chromium sends everything through tdekv's proxy (as a machine set up with HTTPS_PROXY would); the hosts
  // are Azure's real names, still verified against tdekv's CA in the NSS store.
  const { browser } = await launchChromium({ ca: s.inst.ca, args: [`--proxy-server=${s.inst.endpoints.proxyUrl}`] });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US", timezoneId: "UTC", reducedMotion: "reduce" });
    const page = await ctx.newPage();
    const g = s.guard(page, { proxy: true });
    const authorize = page.waitForRequest((r) => new URL(r.url()).pathname.endsWith("/oauth2/v2.0/authorize"));
    await page.goto("https://management.azure.com/portal/");
    assert.equal(new URL((await authorize).url()).origin, "https://login.microsoftonline.com", "Entra's own host, from the proxied cloud metadata");
    await s.signIn(page);
    await page.getByRole("banner").getByText(BOOTSTRAP_USER.name, { exact: true }).waitFor();
    await page.getByRole("heading", { level: 1, name: "All resources" }).waitFor();
    assert.equal(new URL(page.url()).origin, "https://management.azure.com");
    g.assertClean();
    await ctx.close();
  } finally {
    await browser.close();
  }
});

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { startPortalSuite, type PortalSuite } from "./harness.js";

/**
 * portal.md §3.8 #13, issue 9 §4: when the hint stream is down the page says so and keeps itself fresh by
 * polling; an access token the server no longer accepts is renewed silently with the refresh token; a refresh
 * token the server refuses sends the user back to the sign-in page. Time moves only by tdekv's manual clock.
 */
const RG = "portal-resilience";
let s: PortalSuite;
let rgPath: string;

before(async () => {
  // 10-minute access tokens (the refresh tokens of a SPA live 24 h, like Entra's).
  s = await startPortalSuite(undefined, { args: ["--token-lifetime", "600"] });
  rgPath = `/subscriptions/${s.inst.endpoints.subscriptionId}/resourceGroups/${RG}`;
  await s.admin("PUT", `${rgPath}?api-version=2021-04-01`, { location: "eastus" });
});
after(() => s?.stop());

/** A new user-assigned identity, created by the bootstrap principal through ARM (not through the page). */
const identity = (name: string) => s.admin("PUT", `${rgPath}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2023-01-31`, { location: "eastus" });
const row = (page: Page, name: string) => page.getByRole("table").getByRole("link", { name, exact: true });
const liveNote = (page: Page) => page.getByRole("status").filter({ hasText: "Live updates paused — reconnecting" });

test("resilience: with the event stream down the page says so and polls; back up, hints flow again", { timeout: 120_000 }, async () => {
  // The aborted stream is logged by Chromium as a failed load: expected here, and only here.
  const page = await s.newPage({ guard: { allowConsole: [/Failed to load resource: net::ERR_FAILED/] } });
  let aborted = 0;
  await page.route("**/_tdekv/events", (r) => {
    aborted++;
    return r.abort("failed");
  });
  await page.goto(s.portalUrl);
  await s.signIn(page);
  await liveNote(page).waitFor();
  assert.ok(aborted >= 1);

  // Created behind the page's back: only the 5-second poll can bring it in, since no hint can arrive.
  await identity("uami-polled");
  await row(page, "uami-polled").waitFor();
  await s.shot(page, "resilience-paused");

  // The stream comes back: the notice goes, and a change arrives by hint (the poll stops once live).
  await page.unroute("**/_tdekv/events");
  await liveNote(page).waitFor({ state: "detached" });
  assert.equal(await page.getByRole("status").filter({ hasText: "Live updates paused" }).count(), 0);
  await identity("uami-hinted");
  await row(page, "uami-hinted").waitFor();
  await s.done(page);
});

test("resilience: an access token past its lifetime is renewed silently with the refresh token", { timeout: 120_000 }, async () => {
  const page = await s.signedInPage();
  const grants: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith("/oauth2/v2.0/token") && r.method() === "POST") grants.push(new URLSearchParams(r.postData() ?? "").get("grant_type") ?? "");
  });
  // The first call to meet the expired token (the event stream's reconnect or an ARM re-read) gets a 401.
  const rejected = page.waitForResponse((r) => r.url().startsWith(s.portalOrigin) && r.status() === 401);
  // 11 minutes later the 10-minute ARM token is expired for tdekv; the browser's own clock has not moved.
  await s.admin("POST", "/_tdekv/clock/advance", { by: "11m" });
  await identity("uami-after-expiry");
  await rejected;
  await row(page, "uami-after-expiry").waitFor();
  assert.ok(grants.includes("refresh_token"), `grants: ${grants.join(",")}`);
  await page.getByRole("heading", { level: 1, name: "All resources" }).waitFor();
  assert.equal(await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).count(), 0);
  await s.done(page);
});

test("resilience: a refused refresh token sends the user back to the sign-in page, and back to the same page after", { timeout: 120_000 }, async () => {
  const page = await s.signedInPage({ hash: "#/monitor/activity-log" });
  // (Its body cannot be read here: the page navigates to the sign-in page at once, which drops it.)
  const refused = page.waitForResponse((r) => r.url().endsWith("/oauth2/v2.0/token") && r.request().method() === "POST" && r.status() >= 400);
  // 25 hours later both the access token and the 24-hour SPA refresh token are expired (AADSTS700082).
  await s.admin("POST", "/_tdekv/clock/advance", { by: "25h" });
  await identity("uami-after-refresh-expiry");
  const refusal = await refused;
  assert.equal(refusal.status(), 400, "invalid_grant (AADSTS700082: the refresh token has expired)");
  assert.match(new URLSearchParams(refusal.request().postData() ?? "").get("grant_type") ?? "", /^refresh_token$/);
  await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
  await s.signIn(page);
  assert.equal(new URL(page.url()).hash, "#/monitor/activity-log");
  await s.done(page);
});

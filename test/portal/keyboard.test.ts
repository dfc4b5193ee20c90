import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { RG, SqlKit } from "./sql-kit.js";

/**
 * portal.md §3.8 #12, "keyboard-only run of test 6→8", and issue 9 §5 "every flow works by keyboard": the
 * incident flow (All resources → incident strip → Incident timeline → Overview → "Revalidate key" → "Retry
 * existing key" → Online), the access-policy wizard and the "Test action group" pane, driven ONLY with
 * page.keyboard (never .click()/.fill(); locators only wait and read). Every element reached by Tab/arrow keys
 * must show a focus indicator, and Esc on a dialog/pane must give focus back to its opener.
 */
let s: PortalSuite;
let kit: SqlKit;
before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(() => s?.stop());

interface Focus {
  name: string;
  tag: string;
  body: boolean;
  ring: boolean;
}

// A string, not a function: tsx's __name helper does not exist in the page (portal/README.md, harness notes).
const FOCUS_JS = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return { name: "", tag: "body", body: true, ring: false };
  const cs = getComputedStyle(e);
  const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== "none";
  const lab = e.labels && e.labels[0];
  const name = (e.getAttribute("aria-label") || (lab && lab.textContent) || e.textContent || e.id || e.tagName).replace(/\\s+/g, " ").trim();
  return { name, tag: e.tagName.toLowerCase(), body: false, ring };
})()`;
const focus = (page: Page) => page.evaluate(FOCUS_JS) as Promise<Focus>;

/** Elements reached by keyboard without a visible focus indicator (asserted empty at the end of each test). */
const noRing: string[] = [];

/** Presses `key` and records a missing focus indicator on whatever it focused. */
async function press(page: Page, key: string): Promise<Focus> {
  await page.keyboard.press(key);
  const f = await focus(page);
  if (!f.body && !f.ring) noRing.push(`${f.tag} "${f.name}"`);
  return f;
}

/** Tab (or Shift+Tab) until the focused element's name matches; fails with the names walked past. */
async function tabTo(page: Page, name: string | RegExp, { back = false, max = 80 } = {}): Promise<void> {
  const seen: string[] = [];
  const hit = (n: string) => (typeof name === "string" ? n === name : name.test(n));
  for (let i = 0; i < max; i++) {
    const f = await press(page, back ? "Shift+Tab" : "Tab");
    if (hit(f.name)) return;
    seen.push(f.name);
  }
  assert.fail(`${back ? "Shift+Tab" : "Tab"} never reached ${name}; walked: ${JSON.stringify(seen)}`);
}

/** Waits for the portal's own focus moves (in effects): a new page → <main>, a blade → `.blade`, a wizard step → its heading. */
const landed = (page: Page, selector: string) => page.waitForFunction((sel) => !!document.activeElement?.matches(sel), selector);

/**
 * Waits until focus is on the element named `name` (same naming as FOCUS_JS). Focus moves in Preact effects,
 * which run after the next frame, so this is a condition to wait for, not something to read at once.
 */
async function focusReaches(page: Page, name: string): Promise<void> {
  try {
    await page.waitForFunction((n) => {
      const e = document.activeElement as HTMLInputElement | null;
      if (!e || e === document.body) return false;
      const lab = e.labels && e.labels[0];
      return (e.getAttribute("aria-label") || (lab && lab.textContent) || e.textContent || "").replace(/\s+/g, " ").trim() === n;
    }, name);
  } catch {
    assert.fail(`focus never reached "${name}"; it is on ${JSON.stringify(await focus(page))}`);
  }
}

/** Sign in by keyboard on tdekv's sign-in page (the bootstrap user is preselected), then wait for the shell. */
async function keyboardPage(): Promise<Page> {
  const page = await s.newPage();
  await page.goto(s.portalUrl);
  await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
  await tabTo(page, "Sign in");
  await page.keyboard.press("Enter");
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).waitFor();
  await page.getByRole("heading", { level: 1, name: "All resources" }).waitFor();
  return page;
}

test("keyboard only: incident strip → Incident timeline → Revalidate key → Retry existing key → Online; Esc returns focus", async () => {
  // The late-revalidate story (§3.8 #8): revoked, detected, window closed, access restored, still Inaccessible.
  const sc = await kit.scenario("kbd");
  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  await kit.advance("31m");
  await kit.grant(sc.vault, sc.principal);
  await kit.probe();
  assert.equal(await kit.status(sc.server), "Inaccessible");
  noRing.length = 0;
  const page = await keyboardPage();

  // All resources → the incident strip's link.
  const strip = page.getByRole("region", { name: "Incident" }).getByRole("link", { name: "db on srv-kbd: Incident timeline" });
  await strip.waitFor();
  await tabTo(page, "db on srv-kbd: Incident timeline");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "db" }).waitFor();
  const menu = page.getByRole("navigation", { name: "db menu" });
  await menu.locator('a[aria-current="page"]', { hasText: "Incident timeline" }).waitFor();
  await page.getByRole("heading", { name: "Window closed" }).waitFor();
  await landed(page, "#main");

  // A dialog on the way: "Open JSON" by Space, Esc closes it, focus is back on the opener.
  await tabTo(page, "Open JSON");
  await page.keyboard.press("Space");
  const dialog = page.getByRole("dialog", { name: "Resource JSON" });
  await dialog.waitFor();
  assert.equal(await page.evaluate(`document.activeElement.closest("dialog") !== null`), true, "focus moves into the dialog");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  await focusReaches(page, "Open JSON");

  // The blade menu's Overview holds "Revalidate key" (the primary button once the window has closed).
  await tabTo(page, "Overview");
  await page.keyboard.press("Enter");
  await menu.locator('a[aria-current="page"]', { hasText: "Overview" }).waitFor();
  await landed(page, ".blade");
  const revalidate = page.getByRole("button", { name: "Revalidate key" });
  await revalidate.waitFor();
  await tabTo(page, "Revalidate key");
  await page.keyboard.press("Enter");
  // The choices replace the button: focus must land on the first one, not fall back to <body>.
  await page.getByRole("button", { name: "Retry existing key" }).waitFor();
  await focusReaches(page, "Retry existing key");
  await page.keyboard.press("Space");
  await page.getByRole("status").filter({ hasText: "Revalidation succeeded" }).waitFor();
  await page.locator(".badge", { hasText: "Online" }).first().waitFor();
  assert.equal(await kit.status(sc.server), "Online");
  // The choices unmount with the database back Online; focus goes to the section's heading, not <body>.
  await focusReaches(page, "Revalidate key");
  assert.equal(await page.evaluate(`document.activeElement.tagName`), "H3");
  await page.getByRole("region", { name: "Incident" }).waitFor({ state: "detached" });

  assert.deepEqual(noRing, [], "every element reached by keyboard shows a focus indicator");
  await s.done(page);
});

test("keyboard only: the access-policy wizard grants the TDE template to a server identity", async () => {
  await kit.vault("kv-kbdpol");
  const { principal } = await kit.server("srv-kbdpol");
  noRing.length = 0;
  const page = await keyboardPage();

  // All resources → the vault's link in the table → its "Access policies" blade.
  await page.getByRole("link", { name: "kv-kbdpol" }).waitFor();
  await tabTo(page, "kv-kbdpol");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "kv-kbdpol" }).waitFor();
  await landed(page, "#main");
  await tabTo(page, "Access policies");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Access policies", level: 2 }).waitFor();
  await landed(page, ".blade");
  const table = page.getByRole("table", { name: "Current access policies" });
  await table.waitFor();

  await tabTo(page, "Create");
  await page.keyboard.press("Enter");
  const wizard = page.getByRole("region", { name: "Create an access policy" });
  await wizard.getByRole("heading", { name: "Permissions" }).waitFor();
  // A closed <select> changes its value with the arrow keys (and fires change).
  await tabTo(page, "Configure from a template");
  await press(page, "ArrowDown");
  assert.equal(await wizard.getByLabel("Configure from a template").inputValue(), "tde");
  const keys = wizard.getByRole("group", { name: "Key permissions" });
  for (const name of ["Get", "Wrap Key", "Unwrap Key"]) assert.equal(await keys.getByRole("checkbox", { name, exact: true }).isChecked(), true, name);
  await tabTo(page, "Next");
  await page.keyboard.press("Enter");

  await wizard.getByRole("heading", { name: "Principal" }).waitFor();
  await landed(page, ".step-heading");
  await tabTo(page, "Search by name or object ID");
  await page.keyboard.type("srv-kbdpol");
  const radio = wizard.getByRole("radio", { name: /srv-kbdpol/ });
  await radio.waitFor();
  await tabTo(page, /srv-kbdpol/);
  await page.keyboard.press("Space");
  assert.equal(await radio.isChecked(), true);
  await tabTo(page, "Next");
  await page.keyboard.press("Enter");
  await wizard.getByRole("heading", { name: "Application (optional)" }).waitFor();
  await landed(page, ".step-heading");
  await tabTo(page, "Next");
  await page.keyboard.press("Enter");
  await wizard.getByRole("heading", { name: "Review + create" }).waitFor();
  await landed(page, ".step-heading");
  assert.match(await wizard.innerText(), /Key permissions\s+get, wrapKey, unwrapKey/);
  await tabTo(page, "Create");
  await page.keyboard.press("Enter");

  await page.getByRole("status").filter({ hasText: "Created an access policy for srv-kbdpol." }).waitFor();
  await wizard.waitFor({ state: "detached" });
  // The wizard is gone: focus goes back to the "Create" that opened it, not to <body>.
  await focusReaches(page, "Create");
  await table.getByRole("row", { name: /srv-kbdpol/ }).waitFor();
  const granted = (await s.sdk.kvm.vaults.get(RG, "kv-kbdpol")).properties.accessPolicies!.find((p) => p.objectId === principal);
  assert.deepEqual(granted?.permissions.keys, ["get", "wrapKey", "unwrapKey"]);

  assert.deepEqual(noRing, [], "every element reached by keyboard shows a focus indicator");
  await s.done(page);
});

test("keyboard only: Test action group pane runs the test and Esc gives focus back to its row button", async () => {
  const received: string[] = [];
  const hook = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push(req.url ?? "");
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/kbd`;
    const agId = `/subscriptions/${kit.sub}/resourceGroups/${RG}/providers/microsoft.insights/actionGroups/kbd-ag`;
    await s.admin("PUT", `${agId}?api-version=2022-06-01`, { location: "Global", properties: { groupShortName: "kbdag", enabled: true, webhookReceivers: [{ name: "kbd-hook", serviceUri: url, useCommonAlertSchema: true }] } });
    noRing.length = 0;
    const page = await keyboardPage();

    await tabTo(page, "Action groups");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Action groups", level: 2 }).waitFor();
    await landed(page, "#main");
    const opener = page.getByRole("button", { name: "Test action group kbd-ag" });
    await opener.waitFor();
    await tabTo(page, "Test action group kbd-ag");
    await page.keyboard.press("Enter");
    const pane = page.getByRole("dialog", { name: "Test kbd-ag" });
    await pane.waitFor();
    await tabTo(page, "Select sample type");
    await tabTo(page, "Test");
    await page.keyboard.press("Enter");
    await pane.getByRole("status").filter({ hasText: "Test completed." }).waitFor();
    await pane.getByRole("table", { name: "Test results" }).getByRole("row", { name: /kbd-hook/ }).waitFor();
    assert.ok(received.includes("/kbd"), "the webhook got the test notification");
    // Back up with Shift+Tab to the pane's close button; the page behind the modal pane is inert.
    await tabTo(page, /Close Test kbd-ag/, { back: true });
    assert.equal(await page.evaluate(`document.activeElement.closest("dialog") !== null`), true);

    await page.keyboard.press("Escape");
    await pane.waitFor({ state: "hidden" });
    await focusReaches(page, "Test action group kbd-ag");

    assert.deepEqual(noRing, [], "every element reached by keyboard shows a focus indicator");
    await s.done(page);
  } finally {
    await new Promise((r) => hook.close(r));
  }
});

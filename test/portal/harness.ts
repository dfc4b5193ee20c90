import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import { sdkClients } from "../clients.js";
import { ROOT, clientToken, request, startInstance, tempDir, type Instance } from "../harness.js";

/**
 * The portal suites' harness (portal.md §3.8): one tdekv and one Chromium per test file, a fresh context per test,
 * real TLS (tdekv's CA trusted through a throw-away NSS store, never ignoreHTTPSErrors, §3.4), sign-in through the
 * real authorize page, and a guard that fails on console errors, page errors and requests to any other host.
 */
export const OUTPUT = path.join(ROOT, "test-output", "portal");
/** Like test/lifecycle-kit.ts: a manual clock and no background probe, so every minute is driven by the test. */
export const DEFAULT_ARGS = ["--clock", "manual", "--probe-interval", "3600", "--vault-timeout", "0.3", "--token-lifetime", "86400"];
export const CHROMIUM = process.env.TDEKV_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
/** axe rule sets for WCAG 2.2 AA (issue 9 §5). */
export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
export const BOOTSTRAP_USER = { upn: "admin@tdekv.local", name: "tdekv Admin" };

export interface GuardOptions {
  /** Console errors matching one of these are expected (e.g. an aborted stream in the resilience test). */
  allowConsole?: RegExp[];
  /** Chrome logs every 4xx fetch as "Failed to load resource"; the portal shows Azure's 4xx verbatim, so by default they are allowed. */
  allowHttp4xx?: boolean;
  /** Proxy mode: the page runs on management.azure.com and talks to *.vault.azure.net and login.microsoftonline.com. */
  proxy?: boolean;
}

export interface Guard {
  problems: string[];
  /** Throws when anything went wrong on the page so far. */
  assertClean(): void;
}

export interface PageOptions {
  colorScheme?: "light" | "dark";
  viewport?: { width: number; height: number };
  /** Hash to open after sign-in, e.g. "#/monitor/activity-log". */
  hash?: string;
  /** The user to pick on the sign-in page (its radio's accessible name); default the preselected one. */
  user?: string;
  guard?: GuardOptions;
  /** Extra context options (e.g. `serviceWorkers`); viewport/locale/timezone/reducedMotion are set here. */
  context?: BrowserContextOptions;
}

export interface PortalSuite {
  inst: Instance;
  browser: Browser;
  /** https://localhost:PORT/portal/ */
  portalUrl: string;
  portalOrigin: string;
  /** A fresh context (1280×800, en-US, UTC, reduced motion), guarded, signed in through the real page. */
  signedInPage(opts?: PageOptions): Promise<Page>;
  /** A fresh guarded context and page, not signed in. */
  newPage(opts?: PageOptions): Promise<Page>;
  /** Signs in on a page that shows tdekv's sign-in page, then waits for the shell. */
  signIn(page: Page, user?: string): Promise<void>;
  shot(page: Page, name: string): Promise<void>;
  aria(page: Page, name: string): Promise<string>;
  axe(page: Page): Promise<Awaited<ReturnType<AxeBuilder["analyze"]>>["violations"]>;
  guard(page: Page, opts?: GuardOptions): Guard;
  /** Closes the page's context after asserting its guard is clean. */
  done(page: Page): Promise<void>;
  sdk: ReturnType<typeof sdkClients>;
  /** ARM / /_tdekv call as the bootstrap service principal; asserts < 300 and returns the JSON. */
  admin(method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** A temporary HOME whose NSS store trusts `ca` (portal.md §3.4): `certutil -N`, then `-A -t "C,,"`. */
export function nssHome(ca?: Buffer): string {
  const home = tempDir("chromium-home");
  const db = path.join(home, ".pki", "nssdb");
  fs.mkdirSync(db, { recursive: true });
  execFileSync("certutil", ["-d", `sql:${db}`, "-N", "--empty-password"]);
  if (ca) {
    const pem = path.join(home, "ca.pem");
    fs.writeFileSync(pem, ca);
    execFileSync("certutil", ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", "tdekv", "-i", pem]);
  }
  return home;
}

/** Debian's Chromium, headless, with a HOME that trusts `ca` (or nothing, for the negative TLS test). */
export async function launchChromium(opts: { ca?: Buffer; args?: string[] } = {}): Promise<{ browser: Browser; home: string }> {
  const home = nssHome(opts.ca);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), XDG_CACHE_HOME: path.join(home, ".cache") } as Record<string, string>,
  });
  return { browser, home };
}

const safeName = (name: string) => name.replace(/[^a-z0-9._-]+/gi, "-");

export async function startPortalSuite(t?: { after?: (fn: () => unknown) => void }, opts: { args?: string[] } = {}): Promise<PortalSuite> {
  fs.mkdirSync(OUTPUT, { recursive: true });
  const inst = await startInstance({ args: [...DEFAULT_ARGS, ...(opts.args ?? [])] });
  let launched: { browser: Browser; home: string };
  try {
    launched = await launchChromium({ ca: inst.ca });
  } catch (err) {
    await inst.stop();
    throw err;
  }
  const { browser, home } = launched;
  const port = inst.endpoints.httpsPort;
  const portalOrigin = `https://localhost:${port}`;
  const portalUrl = `${portalOrigin}/portal/`;
  const guards = new Map<Page, Guard>();
  const contexts = new Set<BrowserContext>();

  function tdekvHost(url: string, proxy: boolean): boolean {
    const u = new URL(url);
    if (u.protocol === "data:" || u.protocol === "blob:" || u.protocol === "about:") return true;
    if (u.protocol !== "https:") return false;
    const h = u.hostname.toLowerCase();
    if ((h === "localhost" || h.endsWith(".localhost")) && Number(u.port) === port) return true;
    return proxy && (h === "management.azure.com" || h === "login.microsoftonline.com" || h.endsWith(".vault.azure.net")) && (u.port === "" || u.port === "443");
  }

  function guard(page: Page, g: GuardOptions = {}): Guard {
    const existing = guards.get(page);
    if (existing) return existing;
    const problems: string[] = [];
    const allowed = (text: string) =>
      (g.allowHttp4xx !== false && /^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) || (g.allowConsole ?? []).some((r) => r.test(text));
    page.on("console", (m) => {
      if (m.type() === "error" && !allowed(m.text())) problems.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("request", (r) => {
      if (!tdekvHost(r.url(), !!g.proxy)) problems.push(`request outside tdekv: ${r.method()} ${r.url()}`);
    });
    const gd: Guard = {
      problems,
      assertClean() {
        assert.deepEqual(problems, [], `the page had problems:\n${problems.join("\n")}`);
      },
    };
    guards.set(page, gd);
    return gd;
  }

  async function newPage(o: PageOptions = {}): Promise<Page> {
    const ctx = await browser.newContext({
      viewport: o.viewport ?? { width: 1280, height: 800 },
      locale: "en-US",
      timezoneId: "UTC",
      reducedMotion: "reduce",
      colorScheme: o.colorScheme ?? "light",
      ...o.context,
    });
    contexts.add(ctx);
    ctx.setDefaultTimeout(15_000);
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: portalOrigin });
    const page = await ctx.newPage();
    guard(page, o.guard);
    return page;
  }

  async function signIn(page: Page, user?: string): Promise<void> {
    await page.getByRole("heading", { name: "Sign in to tdekv (local)" }).waitFor();
    if (user) await page.getByRole("radio", { name: user }).check();
    await page.getByRole("button", { name: "Sign in" }).click();
    // The shell is up (at 320 px the nav folds behind "Menu", so wait for the header's "Sign out").
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).waitFor();
  }

  const suite: PortalSuite = {
    inst,
    browser,
    portalUrl,
    portalOrigin,
    newPage,
    signIn,
    guard,
    async signedInPage(o: PageOptions = {}) {
      const page = await newPage(o);
      await page.goto(`${portalUrl}${o.hash ?? ""}`);
      await signIn(page, o.user);
      return page;
    },
    async shot(page, name) {
      await page.screenshot({ path: path.join(OUTPUT, `${safeName(name)}.png`), fullPage: true });
    },
    async aria(page, name) {
      const text = await page.locator("body").ariaSnapshot();
      fs.writeFileSync(path.join(OUTPUT, `${safeName(name)}.aria.yml`), text);
      return text;
    },
    async axe(page) {
      const result = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
      return result.violations;
    },
    async done(page) {
      guards.get(page)?.assertClean();
      guards.delete(page);
      const ctx = page.context();
      contexts.delete(ctx);
      await ctx.close();
    },
    sdk: sdkClients(inst),
    async admin(method, p, body) {
      const token = await clientToken(inst, "https://management.azure.com/.default");
      const res = await request(inst, method, p, { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${res.text}`);
      return res.json;
    },
    async stop() {
      // Pages a test left open still count: their problems fail the suite here.
      const left = [...guards.values()].flatMap((g) => g.problems);
      for (const ctx of contexts) await ctx.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await inst.stop();
      fs.rmSync(home, { recursive: true, force: true });
      assert.deepEqual(left, [], `pages had problems:\n${left.join("\n")}`);
    },
  };
  t?.after?.(() => suite.stop());
  return suite;
}

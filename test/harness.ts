import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import https from "node:https";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { createDatabase } from "./pg-cluster.js";

/**
 * Starts a real tdekv process (the built CLI, as users run it) on free ports in a temporary data dir.
 * Suites share one instance where they can (CI time budget).
 */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = path.join(ROOT, "bin", "tdekv.js");

export type { Endpoints } from "../src/main.js";
import type { Endpoints } from "../src/main.js";

export interface Instance {
  endpoints: Endpoints;
  ca: Buffer;
  dataDir: string;
  child: ChildProcess;
  stdout: () => string;
  /** SIGINT and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tdekv-${prefix}-`));
}

export async function startInstance(opts: { dataDir?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<Instance> {
  const dataDir = opts.dataDir ?? tempDir("data");
  const store = await testStoreArgs(dataDir, opts.args ?? []);
  const child = spawn(process.execPath, [BIN, "start", "--data-dir", dataDir, "--port", "0", "--proxy-port", "0", "--tds-port", "0", ...store, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes("tdekv is ready")) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`tdekv exited with ${code} before it was ready:\n${out}\n${err}`));
    });
  });
  const endpoints = JSON.parse(fs.readFileSync(path.join(dataDir, "endpoints.json"), "utf8")) as Endpoints;
  return {
    endpoints,
    ca: fs.readFileSync(endpoints.caCertFile),
    dataDir,
    child,
    stdout: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGINT");
      return exited;
    },
  };
}

/**
 * TDEKV_TEST_STORE=postgres://…/postgres runs every instance on PostgreSQL (issue 11: the seed's scenarios
 * pass unchanged on the PostgreSQL store). Each data dir gets its own database, named from the dir, so a
 * restart on the same data dir finds its state again.
 */
async function testStoreArgs(dataDir: string, args: string[]): Promise<string[]> {
  if (!process.env.TDEKV_TEST_STORE || args.includes("--store")) return [];
  return ["--store", await testStore(dataDir)];
}

/** The store for an in-process stack on `dataDir`: its SQLite file, or its own database under TDEKV_TEST_STORE. */
export async function testStore(dataDir: string): Promise<string> {
  const base = process.env.TDEKV_TEST_STORE;
  if (!base) return path.join(dataDir, "tdekv.db");
  const name = `tdekv_${createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 20)}`;
  await createDatabase(base, name);
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** A plain HTTPS request that verifies tdekv's certificate against its CA (never switched off). */
export function request(
  inst: Instance,
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; host?: string; servername?: string } = {},
): Promise<RawResponse> {
  const u = new URL(url, inst.endpoints.armEndpoint);
  return new Promise((resolve, reject) => {
    const req = https.request(
      u,
      { method, headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers }, ca: inst.ca, servername: opts.servername ?? opts.host?.split(":")[0] ?? u.hostname },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** A client-credentials token from the instance's Entra (v2 endpoint). */
export async function clientToken(inst: Instance, scope: string, who: { tenantId: string; clientId: string; clientSecret: string } = inst.endpoints): Promise<string> {
  const res = await request(inst, "POST", `/${who.tenantId}/oauth2/v2.0/token`, {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: who.clientId, client_secret: who.clientSecret, scope }).toString(),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return res.json.access_token as string;
}

/** Runs a command to completion, with only the given environment (plus PATH/HOME). */
export function run(cmd: string, args: string[], env: Record<string, string>, opts: { cwd?: string; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env }, cwd: opts.cwd ?? ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? "");
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

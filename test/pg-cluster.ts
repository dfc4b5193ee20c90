import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

/**
 * A throw-away PostgreSQL cluster for tests (scale-out.md §4.1): Debian's server binaries, a temp dir, a
 * loopback port, its socket in the temp dir. initdb refuses to run as root, so as root the server runs as the
 * `postgres` user the package created. fsync is off by default: these are contract tests, not durability
 * tests. `{ durable: true }` keeps PostgreSQL's defaults (fsync, synchronous_commit, full_page_writes on), as
 * scale-out.md §4.1 asks of chaos tests that claim 0 lost writes.
 */
export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback, no password). */
  url: string;
  port: number;
  /** A new, empty database with byte-order (C) collation; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

export function findPgBin(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    /* no pg_config: try the Debian path and PATH */
  }
  candidates.push("/usr/lib/postgresql/15/bin");
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) candidates.push(dir);
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl"))) return fs.realpathSync(path.join(dir, "initdb")).replace(/\/initdb$/, "");
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a server binary, as `postgres` when we are root. Throws with its output on failure. */
function runPg(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export interface PgClusterOptions {
  /** Keep fsync, synchronous_commit and full_page_writes on (default off). */
  durable?: boolean;
}

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = findPgBin();
  if (!bin) throw new Error("PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/15/bin, PATH); install postgresql-15");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-pg-"));
  if (isRoot()) execFileSync("chown", ["postgres", dir]);
  const data = path.join(dir, "data");
  runPg(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  const speed = options.durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${speed} -c max_connections=200`;
  runPg(path.join(bin, "pg_ctl"), ["-D", data, "-l", path.join(dir, "log"), "-w", "-o", opts, "start"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    async createDatabase(name = `tdekv_${Math.random().toString(36).slice(2, 12)}`) {
      await createDatabase(url, name);
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        runPg(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** CREATE DATABASE with the C collation tdekv needs; a database that already exists is kept. */
export async function createDatabase(serverUrl: string, name: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  } catch (err) {
    if ((err as { code?: string }).code !== "42P04") throw err; // duplicate_database: a restart reuses it
  } finally {
    await client.end();
  }
}

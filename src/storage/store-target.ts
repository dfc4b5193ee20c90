import path from "node:path";

/**
 * Where the control-plane state lives: the embedded SQLite file (the default, one machine) or a
 * PostgreSQL-wire server (scale-out.md §1.4: PostgreSQL, or CockroachDB / YugabyteDB through the same subset).
 */
export type StoreTarget = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

const PG_URL = /^postgres(ql)?:\/\//i;

/** A postgres:// or postgresql:// URL selects PostgreSQL; anything else is a SQLite file path. */
export function parseStoreTarget(value: string): StoreTarget {
  if (PG_URL.test(value)) {
    try {
      new URL(value);
    } catch {
      // The message must not echo the value: it may hold a password.
      throw new Error(`store URL is not a valid URL: ${redactStoreUrl(value)}`);
    }
    return { kind: "postgres", url: value };
  }
  return { kind: "sqlite", file: path.resolve(value) };
}

/**
 * The store URL with its password (and any password/sslkey-ish query parameter) masked, for the ready summary,
 * logs and error messages. Secrets in the URL are never printed.
 */
export function redactStoreUrl(value: string): string {
  if (!PG_URL.test(value)) return value;
  try {
    const u = new URL(value);
    if (u.password) u.password = "***";
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|key|token/i.test(k)) u.searchParams.set(k, "***");
    return u.toString();
  } catch {
    // Unparseable: mask everything between "//" and "@" (user:password) rather than guess.
    return value.replace(/\/\/[^@/]*@/, "//***@");
  }
}

/** How the store is described to users: the redacted URL, or the SQLite file. */
export function describeStore(target: StoreTarget): string {
  return target.kind === "postgres" ? redactStoreUrl(target.url) : target.file;
}

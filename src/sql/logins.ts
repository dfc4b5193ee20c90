import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import type { Db } from "../storage/index.js";
import type { Kysely } from "kysely";

interface LoginsTable {
  sql_logins: { server_key: string; login: string; password_hash: string };
}

/** Administrator logins. The password is kept only as a scrypt hash, never in an ARM body or a log. */
export class Logins {
  private readonly db: Kysely<LoginsTable>;
  constructor(db: Db) {
    this.db = db as unknown as Kysely<LoginsTable>;
  }

  async set(serverId: string, login: string, password: string): Promise<void> {
    const salt = randomBytes(16);
    const hash = `scrypt$${salt.toString("base64url")}$${scryptSync(password, salt, 32).toString("base64url")}`;
    const server_key = serverId.toLowerCase();
    await this.db
      .insertInto("sql_logins")
      .values({ server_key, login, password_hash: hash })
      .onConflict((oc) => oc.column("server_key").doUpdateSet({ login, password_hash: hash }))
      .execute();
  }

  async setLogin(serverId: string, login: string): Promise<void> {
    await this.db.updateTable("sql_logins").set({ login }).where("server_key", "=", serverId.toLowerCase()).execute();
  }

  async verify(serverId: string, login: string, password: string): Promise<boolean> {
    const row = await this.db.selectFrom("sql_logins").selectAll().where("server_key", "=", serverId.toLowerCase()).executeTakeFirst();
    if (!row || row.login.toLowerCase() !== login.toLowerCase()) return false;
    const [, salt, digest] = row.password_hash.split("$");
    const actual = scryptSync(password, Buffer.from(salt!, "base64url"), 32);
    const expected = Buffer.from(digest!, "base64url");
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  async remove(serverId: string): Promise<void> {
    await this.db.deleteFrom("sql_logins").where("server_key", "=", serverId.toLowerCase()).execute();
  }

  async move(oldId: string, newId: string): Promise<void> {
    await this.db.updateTable("sql_logins").set({ server_key: newId.toLowerCase() }).where("server_key", "=", oldId.toLowerCase()).execute();
  }
}

/** Azure's complexity rule: at least 8 characters from at least three of upper, lower, digits and symbols. */
export function isComplexPassword(p: string): boolean {
  if (p.length < 8 || p.length > 128) return false;
  const classes = [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  return classes >= 3;
}

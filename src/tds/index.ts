import net from "node:net";
import type { Logger } from "../platform/index.js";
import type { TlsMaterial } from "../frontdoor/index.js";
import type { DataAccess } from "../sql/index.js";
import { TdsConnection } from "./connection.js";
import { tlsContexts } from "./tls-carrier.js";

export interface TdsDeps {
  host: string;
  port: number;
  tls: TlsMaterial;
  log: Logger;
  /** Servers, logins and databases (sql/data-access.ts), shared with the query route. */
  access: DataAccess;
}

export interface RunningTds {
  port: number;
  stop(): Promise<void>;
}

/** SQL Server numbers user sessions from 51 (lower SPIDs are system sessions); @@SPID is a u16. */
const FIRST_SPID = 51;

/**
 * The TDS endpoint (issue 8): SQL Server clients connect to `{server}.database.windows.net` here, query
 * the encrypted databases, and are refused with 40613 while a database is Inaccessible. TDS 7.x and TDS 8.0
 * share one port, told apart by the first byte. Sessions on a database end when the lifecycle closes it.
 */
export async function startTds(deps: TdsDeps): Promise<RunningTds> {
  const contexts = tlsContexts(deps.tls);
  const byFile = new Map<string, Set<TdsConnection>>();
  const all = new Set<TdsConnection>();
  /** Raw sockets, so stop() also ends refused logins that are still flushing their error. */
  const sockets = new Set<net.Socket>();
  const fileOf = new Map<TdsConnection, string>();
  let nextSpid = FIRST_SPID;
  const host = {
    access: deps.access,
    contexts,
    log: deps.log,
    track(conn: TdsConnection, file: string | undefined) {
      if (!file) return;
      fileOf.set(conn, file);
      let set = byFile.get(file);
      if (!set) byFile.set(file, (set = new Set()));
      set.add(conn);
    },
    untrack(conn: TdsConnection) {
      all.delete(conn);
      const file = fileOf.get(conn);
      if (file === undefined) return;
      fileOf.delete(conn);
      const set = byFile.get(file);
      set?.delete(conn);
      if (set?.size === 0) byFile.delete(file);
    },
  };
  const unsubscribe = deps.access.onDatabaseClosed((file) => {
    for (const conn of [...(byFile.get(file) ?? [])]) conn.close("the database became inaccessible");
  });
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const spid = nextSpid;
    nextSpid = nextSpid >= 0xfff0 ? FIRST_SPID : nextSpid + 1;
    try {
      all.add(new TdsConnection(socket, spid, host));
    } catch (err) {
      deps.log.error({ err: (err as Error).message }, "TDS connection setup failed");
      socket.destroy();
    }
  });
  server.on("error", (err) => deps.log.error({ err: err.message }, "TDS listener error"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(deps.port, deps.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  deps.log.info({ port }, "TDS endpoint listening");
  return {
    port,
    async stop() {
      unsubscribe();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of [...all]) conn.close("tdekv is stopping");
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

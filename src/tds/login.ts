import { TokenRejected } from "../identity/index.js";
import { type DataAccess, DataAccessError, type ServerRef, accessErrors } from "../sql/index.js";
import type { Login7 } from "./login7.js";
import { replyVersion } from "./login7.js";
import { EnvType, done, envChange, envCollation, featureExtAckFedAuth, infoToken, loginAck } from "./tokens.js";

const AZURE_HOST = /^([^.]+)\.(?:([^.]+)\.)?database\.windows\.net\.?$/i;

/**
 * The server a `….database.windows.net` name addresses: its first DNS label (managed instances have a DNS
 * zone label too), except a failover group's read-only listener `<fg>.secondary.database.windows.net`, which
 * keeps its `.secondary` so the data path routes it to the group's current secondary (pitr-fog.md).
 */
export function serverLabel(host: string | undefined): string | undefined {
  const m = host ? AZURE_HOST.exec(host) : null;
  if (!m) return undefined;
  const first = m[1]!.toLowerCase();
  return m[2]?.toLowerCase() === "secondary" ? `${first}.secondary` : first;
}

/**
 * Which logical server a login is for (tds.md §5, Azure's 40531 text): the first label of the name the
 * client connected to (SNI, else LOGIN7 ServerName), or the `@server` suffix of the login name; both given
 * must agree. Anything else (localhost, an IP, no TLS) cannot be routed.
 */
export function resolveServer(login: Login7, sni: string | undefined): { server: string; user: string } {
  const fromHost = serverLabel(sni) ?? serverLabel(login.serverName);
  let user = login.userName;
  let fromUser: string | undefined;
  const at = user.lastIndexOf("@");
  if (at >= 0) {
    fromUser = user.slice(at + 1).toLowerCase() || undefined;
    user = user.slice(0, at);
  }
  // `user@fg` on the read-only listener `fg.secondary` names the same group.
  if (fromHost && fromUser && fromHost !== fromUser && fromHost !== `${fromUser}.secondary`) throw accessErrors.serverUndetermined();
  const server = fromHost ?? fromUser;
  if (!server) throw accessErrors.serverUndetermined();
  return { server, user };
}

export interface Principal {
  server: ServerRef;
  /** What SUSER_SNAME() shows: the SQL login, or the token's principal. */
  login: string;
}

/** SQL authentication: the administrator login and password (18456 otherwise, without saying which part). */
export async function sqlLogin(access: DataAccess, server: ServerRef, user: string, password: string): Promise<Principal> {
  if (!user || !(await access.verifyPassword(server, user, password))) throw accessErrors.loginFailed(user);
  return { server, login: user };
}

/** Entra: the access token from LOGIN7 (SECURITYTOKEN) or from FEDAUTH_TOKEN (MSAL flow, §3.7). */
export async function tokenLogin(access: DataAccess, server: ServerRef, token: string): Promise<Principal> {
  try {
    const claims = await access.verifyToken(server, token);
    return { server, login: claims.oid };
  } catch (err) {
    if (err instanceof TokenRejected || err instanceof DataAccessError) throw accessErrors.loginFailed("<token-identified principal>");
    throw err;
  }
}

/** The 512..32767 range SQL Server accepts; 0 asks for the server's default. */
export function negotiatedPacketSize(requested: number): number {
  if (!requested) return 4096;
  return Math.min(32767, Math.max(512, requested));
}

/** The successful login reply, token order as SQL Server's (tds.md §3.6). */
export function loginReply(login: Login7, database: string, packetSize: number): Buffer {
  return Buffer.concat([
    envChange(EnvType.DATABASE, database, "master"),
    infoToken({ number: 5701, state: 2, message: `Changed database context to '${database}'.` }),
    envCollation(),
    envChange(EnvType.LANGUAGE, "us_english"),
    infoToken({ number: 5703, state: 1, message: "Changed language setting to us_english." }),
    loginAck(replyVersion(login.tdsVersion)),
    envChange(EnvType.PACKET_SIZE, String(packetSize), "4096"),
    ...(login.fedAuth ? [featureExtAckFedAuth()] : []),
    done(0),
  ]);
}

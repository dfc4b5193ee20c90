import type net from "node:net";
import type { Writable } from "node:stream";
import type tls from "node:tls";
import { type Logger, newGuid } from "../platform/index.js";
import { type DataAccess, DataAccessError, accessErrors } from "../sql/index.js";
import { TdsProtocolError } from "./byte-reader.js";
import { type Login7, MAX_LOGIN7, parseFedAuthToken, parseLogin7 } from "./login7.js";
import { type Principal, loginReply, negotiatedPacketSize, resolveServer, sqlLogin, tokenLogin } from "./login.js";
import { MessageReader, PacketType, STATUS_RESET_CONNECTION, type TdsMessage, frame } from "./packets.js";
import { Encryption, buildPrelogin, negotiate, parsePrelogin } from "./prelogin.js";
import { UpstreamUnavailable, openUpstream } from "./proxy.js";
import { DatabaseGone, Session } from "./session.js";
import { databaseTarget, masterTarget } from "./targets.js";
import { type TlsContexts, TlsCarrier, serverTls } from "./tls-carrier.js";
import { DoneStatus, done, errorToken, fedAuthInfo } from "./tokens.js";

/** A request message may be this long (SQL Server's limit is far higher; this bounds one connection). */
export const MAX_REQUEST = 32 * 1024 * 1024;
/** Replies a client has not read yet; past this the connection is dropped rather than buffered. */
const MAX_UNREAD_REPLY = 64 * 1024 * 1024;
/** Messages waiting behind the one being handled; more pauses reading (clients do not pipeline). */
const MAX_QUEUED = 16;
/** A connection must log in within this time (SQL Server's clients default to 15 s). */
const LOGIN_TIMEOUT_MS = 60_000;
const SPN = "https://database.windows.net/";

type State = "start" | "prelogin" | "handshake" | "login" | "fedauth" | "ready" | "proxy" | "closed";

/** Bytes the relay holds for a side that does not read; past this that side is paused until it drains. */
const RELAY_HIGH_WATER = 1024 * 1024;

export interface ConnectionHost {
  access: DataAccess;
  contexts: TlsContexts;
  log: Logger;
  /** Called once logged in to a database file, and at close: the listener closes sessions per file. */
  track(conn: TdsConnection, file: string | undefined): void;
  untrack(conn: TdsConnection): void;
}

/**
 * One client connection: PRELOGIN and encryption (TDS 7.x with TLS inside PRELOGIN, or TDS 8.0 strict),
 * LOGIN7 with SQL or Entra authentication, then requests handed to the Session. Messages are handled one
 * at a time in arrival order; ATTENTION is the exception, it cancels the request that is waiting.
 * Anything malformed closes this connection with a logged reason and never reaches the process.
 */
export class TdsConnection {
  private state: State = "start";
  private out: Writable;
  private packetSize = 4096;
  private readonly outer: MessageReader;
  /** The reader that carries TDS messages (the outer one, or the one inside TLS). */
  private active: MessageReader;
  private onRaw: (chunk: Buffer) => void;
  private sni: string | undefined;
  private strict = false;
  private fedAuthRequired = false;
  /** The owner's connection while this one is proxied to another node (issue 11 §3). */
  private upstream: tls.TLSSocket | undefined;
  private pending: { login: Login7; server: Principal["server"] } | undefined;
  private session: Session | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private current: AbortController | undefined;
  private readonly loginTimer: NodeJS.Timeout;
  /** Azure's "session tracing ID" in the 40613 text. */
  readonly traceId = newGuid().toUpperCase();

  constructor(
    private readonly socket: net.Socket,
    readonly spid: number,
    private readonly host: ConnectionHost,
  ) {
    this.out = socket;
    this.outer = new MessageReader((m) => this.enqueue(m), MAX_LOGIN7);
    this.active = this.outer;
    this.onRaw = (first) => this.detect(first);
    socket.on("data", (d: Buffer) => this.safely(() => this.onRaw(d)));
    socket.on("error", (err) => this.close(`socket error: ${err.message}`));
    socket.on("close", () => this.close());
    this.loginTimer = setTimeout(() => this.close("login timeout"), LOGIN_TIMEOUT_MS);
    this.loginTimer.unref();
  }

  get database(): string | undefined {
    return this.session?.target.file;
  }

  /** Ends the connection (a database turned Inaccessible, the listener stops, or the input was bad). */
  close(reason?: string): void {
    if (this.state === "closed") return;
    const was = this.state;
    this.state = "closed";
    clearTimeout(this.loginTimer);
    this.current?.abort();
    if (reason) this.host.log.info({ spid: this.spid, reason, state: was }, "TDS connection closed");
    this.session?.close();
    this.upstream?.destroy();
    this.host.untrack(this);
    this.socket.destroy();
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.state === "closed") return;
    if (err instanceof TdsProtocolError) this.close(`malformed input: ${err.message}`);
    else if (err instanceof DatabaseGone) this.close("database closed");
    else {
      this.host.log.error({ spid: this.spid, err: (err as Error).message }, "TDS connection failed");
      this.close("internal error");
    }
  }

  /** The first byte tells TDS 8.0 (a TLS ClientHello, 0x16) from TDS 7.x (PRELOGIN, 0x12): tds.md §3.4. */
  private detect(first: Buffer): void {
    this.state = "prelogin";
    if (first[0] !== 0x16) {
      this.onRaw = (d) => this.active.push(d);
      return this.onRaw(first);
    }
    this.strict = true;
    const carrier = new TlsCarrier(this.socket, false);
    const t = serverTls(carrier, this.host.contexts.strict, true);
    this.wireTls(t, this.outer);
    this.onRaw = (d) => carrier.push(d);
    carrier.push(first);
  }

  private wireTls(t: tls.TLSSocket, reader: MessageReader): void {
    t.on("data", (d: Buffer) => this.safely(() => reader.push(d)));
    t.on("secure", () => {
      this.sni = typeof t.servername === "string" ? t.servername : undefined;
      if (this.state === "handshake") this.state = "login";
    });
    t.on("error", (err: Error) => this.close(`TLS: ${err.message}`));
    this.out = t;
  }

  /** TLS inside PRELOGIN (encrypt:true): flights are PRELOGIN payloads until the first raw record (§3.3). */
  private startWrappedTls(): void {
    this.state = "handshake";
    const carrier = new TlsCarrier(this.socket, true);
    const t = serverTls(carrier, this.host.contexts.wrapped, false);
    const inner = new MessageReader((m) => this.enqueue(m), MAX_LOGIN7);
    this.wireTls(t, inner);
    let raw = false;
    this.onRaw = (d) => {
      // 0x12 is never a TLS record type, so a PRELOGIN header (or the rest of a packet) is still wrapped.
      if (!raw && (this.outer.midPacket || d[0] === PacketType.PRELOGIN)) return this.outer.push(d);
      if (!raw) {
        raw = true;
        carrier.wrapped = false;
        this.active = inner;
      }
      carrier.push(d);
    };
    this.handshakeCarrier = carrier;
  }
  private handshakeCarrier: TlsCarrier | undefined;
  /** Arrival number of each queued message, and the last one an ATTENTION has cancelled. */
  private readonly sequence = new WeakMap<TdsMessage, number>();
  private received = 0;
  private cancelUpTo = 0;

  private enqueue(m: TdsMessage): void {
    if (this.state === "closed") return;
    if (m.type === PacketType.ATTENTION) {
      // Cancel what waits, then answer DONE(ATTN) after the request's own reply (pitfall 16). The attention
      // can arrive in the same read as the request it cancels, before that request has started: every
      // request queued before it is cancelled, started or not.
      this.cancelUpTo = this.received;
      this.current?.abort();
      this.chain = this.chain.then(() => {
        if (this.state === "ready") this.send(done(DoneStatus.ATTN));
      });
      return;
    }
    this.sequence.set(m, ++this.received);
    if (++this.queued > MAX_QUEUED) this.socket.pause();
    this.chain = this.chain
      .then(() => (this.state === "closed" ? undefined : this.handle(m)))
      .catch((err) => this.fail(err))
      .finally(() => {
        // A proxied connection's flow control is the relay's (relayUp), not the queue's.
        if (--this.queued < MAX_QUEUED / 2 && this.socket.isPaused() && this.state !== "closed" && this.state !== "proxy") this.socket.resume();
      });
  }

  private send(payload: Buffer, type: number = PacketType.TABULAR_RESULT): void {
    if (this.state === "closed") return;
    if (this.out.writableLength > MAX_UNREAD_REPLY) return this.close("client does not read its replies");
    this.out.write(frame(type, payload, this.packetSize, this.spid));
  }

  private async handle(m: TdsMessage): Promise<void> {
    switch (this.state) {
      case "prelogin":
        if (m.type === PacketType.PRELOGIN) return this.prelogin(m.payload);
        if (m.type === PacketType.LOGIN7) return this.login(m.payload);
        break;
      case "handshake":
        if (m.type === PacketType.PRELOGIN) {
          this.handshakeCarrier!.push(m.payload);
          return;
        }
        break;
      case "login":
        if (m.type === PacketType.LOGIN7) return this.login(m.payload);
        break;
      case "fedauth":
        if (m.type === PacketType.FEDAUTH_TOKEN) return this.fedAuthToken(m.payload);
        break;
      case "ready":
        return this.request(m);
    }
    throw new TdsProtocolError(`unexpected message type 0x${m.type.toString(16)} in state ${this.state}`);
  }

  private prelogin(payload: Buffer): void {
    const p = parsePrelogin(payload);
    this.fedAuthRequired = p.fedAuthRequired;
    if (this.strict) {
      // TDS 8.0: TLS is already up; the ENCRYPTION option is ignored by clients (§3.4).
      this.send(buildPrelogin(Encryption.NOT_SUP, p.fedAuthRequired));
      this.state = "login";
      return;
    }
    const { reply, tls } = negotiate(p.encryption);
    this.send(buildPrelogin(reply, p.fedAuthRequired));
    if (tls) this.startWrappedTls();
    else this.state = "login";
  }

  private async login(payload: Buffer): Promise<void> {
    const login = parseLogin7(payload);
    let serverName = "";
    try {
      const { server: name, user } = resolveServer(login, this.sni);
      serverName = name;
      const server = await this.host.access.findServer(name);
      if (!server) throw accessErrors.serverNotFound(name);
      // A database held by another live node: Azure's Proxy policy, every packet flows via this node.
      const route = await this.host.access.route(server, login.database);
      if (route.kind === "remote") return await this.proxy(route.node, payload, login, server);
      if (login.fedAuth?.kind === "msal") {
        // No token in LOGIN7: tell the client where to get one; it answers with FEDAUTH_TOKEN (§3.7).
        this.pending = { login, server };
        this.state = "fedauth";
        this.send(fedAuthInfo(`https://login.microsoftonline.com/${server.tenantId}/`, SPN));
        return;
      }
      const principal = login.fedAuth ? await tokenLogin(this.host.access, server, login.fedAuth.token) : await sqlLogin(this.host.access, server, user, login.password);
      await this.complete(login, principal);
    } catch (err) {
      this.refuse(err, serverName);
    }
  }

  /**
   * Proxies this connection to `owner`, the node holding the database (scale-out.md §3.4 "Proxy first"): a
   * TDS connection to it as a client (PRELOGIN, TLS verified against its CA), the client's LOGIN7 unchanged,
   * then bytes relayed both ways until either side closes. The owner authenticates the login and answers
   * everything (FEDAUTH exchanges, attention, requests). An owner that cannot be reached before the LOGIN7 is
   * sent refuses the login with 40613; a relay that fails later ends only this connection.
   */
  private async proxy(owner: { name: string; host: string; tdsPort: number; caPem: string }, login7: Buffer, login: Login7, server: Principal["server"]): Promise<void> {
    this.state = "proxy";
    const held: Buffer[] = [];
    let heldBytes = 0;
    // Bytes of the client's that arrive while the owner's connection is set up wait here (bounded).
    this.active.divert((d) => {
      if (this.state === "closed") return;
      if (this.upstream) return this.relayUp(d);
      held.push(d);
      if ((heldBytes += d.length) > RELAY_HIGH_WATER) this.close("client sent too much before the owner was reached");
    });
    let up: tls.TLSSocket;
    try {
      up = await openUpstream({
        host: owner.host,
        port: owner.tdsPort,
        caPem: owner.caPem,
        servername: this.sni ?? (/\.database\.windows\.net\.?$/i.test(login.serverName) ? login.serverName.replace(/\.$/, "") : `${server.name}.database.windows.net`),
        fedAuth: this.fedAuthRequired,
      });
    } catch (err) {
      if (!(err instanceof UpstreamUnavailable)) throw err;
      this.host.log.warn({ spid: this.spid, owner: owner.name, server: server.name, database: login.database, reason: err.message }, "TDS proxy: the database's owner could not be reached");
      this.state = "login";
      return this.refuse(await this.host.access.ownerUnavailable(server, login.database, this.traceId), server.name);
    }
    if ((this.state as State) === "closed") return void up.destroy();
    this.upstream = up;
    clearTimeout(this.loginTimer);
    up.on("data", (d: Buffer) => {
      if (this.state === "closed") return;
      if (!this.out.write(d) || this.out.writableLength > RELAY_HIGH_WATER) {
        up.pause();
        this.out.once("drain", () => up.resume());
      }
    });
    up.on("error", (err: Error) => this.close(`TDS proxy to ${owner.name}: ${err.message}`));
    up.on("close", () => this.close(`TDS proxy: ${owner.name} closed the connection`));
    this.host.log.debug({ spid: this.spid, owner: owner.name, server: server.name, database: login.database }, "TDS login proxied to the database's owner");
    this.relayUp(frame(PacketType.LOGIN7, login7, 4096));
    for (const d of held.splice(0)) this.relayUp(d);
  }

  private relayUp(d: Buffer): void {
    const up = this.upstream!;
    if ((!up.write(d) || up.writableLength > RELAY_HIGH_WATER) && !this.socket.isPaused()) {
      this.socket.pause();
      up.once("drain", () => {
        if (this.state !== "closed") this.socket.resume();
      });
    }
  }

  private async fedAuthToken(payload: Buffer): Promise<void> {
    const { login, server } = this.pending!;
    this.pending = undefined;
    try {
      await this.complete(login, await tokenLogin(this.host.access, server, parseFedAuthToken(payload)));
    } catch (err) {
      this.refuse(err, server.name);
    }
  }

  private async complete(login: Login7, principal: Principal): Promise<void> {
    const database = login.database || "master";
    const target =
      database.toLowerCase() === "master" ? masterTarget() : databaseTarget(this.host.access, await this.host.access.open(principal.server, database, this.traceId));
    if (this.state === "closed") return target.close();
    this.session = new Session(this.spid, principal.server.name, principal.login, target);
    this.host.track(this, target.file);
    this.send(loginReply(login, target.name, this.packetSize));
    // Later replies use the negotiated size (pitfall 17).
    this.packetSize = negotiatedPacketSize(login.packetSize);
    this.active.maxMessage = MAX_REQUEST;
    this.state = "ready";
    clearTimeout(this.loginTimer);
    this.host.log.debug({ spid: this.spid, server: principal.server.name, database: target.name }, "TDS login");
  }

  /** A refused login: ERROR + DONE(ERROR) in one message, then close (tds.md §3.8). */
  private refuse(err: unknown, serverName: string): void {
    if (!(err instanceof DataAccessError)) throw err;
    this.host.log.info({ spid: this.spid, number: err.number, server: serverName }, "TDS login refused");
    this.send(Buffer.concat([errorToken({ number: err.number, state: err.state, severity: err.severity, message: err.message, serverName }), done(DoneStatus.ERROR)]));
    this.state = "closed";
    clearTimeout(this.loginTimer);
    this.host.untrack(this);
    this.out.end();
    this.socket.setTimeout(5_000, () => this.socket.destroy());
  }

  private async request(m: TdsMessage): Promise<void> {
    const session = this.session!;
    const reset = m.status & STATUS_RESET_CONNECTION ? session.reset() : undefined;
    const controller = new AbortController();
    this.current = controller;
    if ((this.sequence.get(m) ?? Infinity) <= this.cancelUpTo) controller.abort();
    let reply: Buffer;
    try {
      if (m.type === PacketType.SQL_BATCH) reply = await session.batch(m.payload, controller.signal);
      else if (m.type === PacketType.RPC) reply = await session.rpc(m.payload, controller.signal);
      else if (m.type === PacketType.TRANSACTION_MANAGER) reply = await session.transactionManager(m.payload, controller.signal);
      else throw new TdsProtocolError(`unexpected message type 0x${m.type.toString(16)} after login`);
    } catch (err) {
      // Cancelled while waiting for another session's transaction. tedious reads one message as the
      // request's reply and the next as the attention acknowledgement, so the reply must still be sent.
      if (controller.signal.aborted) return this.send(done(DoneStatus.FINAL));
      throw err;
    } finally {
      if (this.current === controller) this.current = undefined;
    }
    this.send(reset ? Buffer.concat([reset, reply]) : reply);
  }
}

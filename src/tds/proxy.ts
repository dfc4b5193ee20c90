import net from "node:net";
import tls from "node:tls";
import { MessageReader, PacketType } from "./packets.js";
import { Encryption, buildPrelogin, parsePrelogin } from "./prelogin.js";
import { frame } from "./packets.js";
import { TlsCarrier } from "./tls-carrier.js";

/** Before login every packet is at most 4096 bytes (tds.md §3.1). */
const PRELOGIN_PACKET_SIZE = 4096;
/** The owner must answer PRELOGIN and finish TLS within this (a dead or frozen owner is not waited on). */
const UPSTREAM_SETUP_MS = 10_000;

export interface UpstreamTarget {
  host: string;
  port: number;
  /** The owner's CA (PEM): its certificate must chain to it. */
  caPem: string;
  /** The name verified in the owner's certificate and sent as SNI (the host the client asked for). */
  servername: string;
  /** The client's PRELOGIN asked for federated authentication: ask the owner alike. */
  fedAuth: boolean;
}

/** Why the owner could not be reached before anything of the client's was sent: the login is refused with 40613. */
export class UpstreamUnavailable extends Error {}

/**
 * Opens a TDS connection to the node that holds the database (Azure's Proxy connection policy, scale-out.md
 * §3.4), as a TDS 7.x client: PRELOGIN asking for encryption, then TLS carried in PRELOGIN packets until the
 * handshake completes, verified against the owner's CA (never unverified). Resolves with the TLS socket over
 * which the client's LOGIN7 and everything after it are relayed unchanged.
 */
export function openUpstream(target: UpstreamTarget): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: target.host, port: target.port, noDelay: true });
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new UpstreamUnavailable(why));
    };
    const timer = setTimeout(() => fail("the owner did not complete PRELOGIN and TLS in time"), UPSTREAM_SETUP_MS);
    timer.unref();
    sock.once("error", (err) => fail(`owner connection: ${err.message}`));
    sock.once("close", () => fail("the owner closed the connection during setup"));
    let onData = (d: Buffer) => preloginReader.push(d);
    sock.on("data", (d: Buffer) => {
      try {
        onData(d);
      } catch (err) {
        fail(`owner sent malformed TDS: ${(err as Error).message}`);
      }
    });
    const carrier = new TlsCarrier(sock, true);
    const handshakeReader = new MessageReader((m) => {
      if (m.type !== PacketType.PRELOGIN) throw new Error(`unexpected packet 0x${m.type.toString(16)} during TLS`);
      carrier.push(m.payload);
    }, 1024 * 1024);
    const preloginReader = new MessageReader((m) => {
      if (m.type !== PacketType.TABULAR_RESULT) throw new Error(`unexpected PRELOGIN reply type 0x${m.type.toString(16)}`);
      const enc = parsePrelogin(m.payload).encryption;
      if (enc !== Encryption.ON && enc !== Encryption.REQ) return fail("the owner does not offer encryption");
      onData = (d) => handshakeReader.push(d);
      const t = tls.connect({
        socket: carrier,
        ca: target.caPem,
        servername: target.servername,
        // TLS inside PRELOGIN is capped at 1.2 (tds.md pitfall 5), as tdekv's own listener does.
        minVersion: "TLSv1.2",
        maxVersion: "TLSv1.2",
      });
      t.once("error", (err) => fail(`owner TLS: ${err.message}`));
      t.once("secureConnect", () => {
        if (settled) return t.destroy();
        // From here on neither side frames TLS records in PRELOGIN packets.
        carrier.wrapped = false;
        onData = (d) => carrier.push(d);
        settled = true;
        clearTimeout(timer);
        sock.removeAllListeners("error");
        sock.removeAllListeners("close");
        sock.on("error", () => t.destroy());
        sock.on("close", () => t.destroy());
        resolve(t);
      });
    }, 64 * 1024);
    sock.once("connect", () => {
      sock.write(frame(PacketType.PRELOGIN, buildPrelogin(Encryption.ON, target.fedAuth), PRELOGIN_PACKET_SIZE));
    });
  });
}

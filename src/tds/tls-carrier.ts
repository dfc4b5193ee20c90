import { Duplex } from "node:stream";
import type net from "node:net";
import tls from "node:tls";
import type { TlsMaterial } from "../frontdoor/index.js";
import { PacketType, frame } from "./packets.js";

/** Before login every TDS packet is at most 4096 bytes (tds.md §3.1). */
const PRELOGIN_PACKET_SIZE = 4096;

/**
 * The byte pipe under a server TLSSocket. Node 20 has no `stream.duplexPair`, and a `net.Socket` handed to
 * TLSSocket is wrapped at the handle level (bytes already read from it are lost), so TLS runs over this
 * JS Duplex instead (tds.md §3.3–3.4, Appendix A).
 *
 * `wrapped` (TDS 7.x `encrypt:true`): the handshake travels inside PRELOGIN packets, and tedious waits for
 * exactly one reply message per flight, so everything TLS writes within one event-loop turn is coalesced
 * into one PRELOGIN message. Once the client sends its first raw TLS record, neither side frames any more.
 */
export class TlsCarrier extends Duplex {
  private pending: Buffer[] = [];

  constructor(
    private readonly raw: net.Socket,
    public wrapped: boolean,
  ) {
    super();
    // Its errors are the socket's, which the connection already handles and logs.
    this.on("error", () => {});
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.wrapped) {
      this.flush();
      if (this.raw.destroyed) return cb();
      this.raw.write(chunk, () => cb());
      return;
    }
    this.pending.push(chunk);
    if (this.pending.length === 1) setImmediate(() => this.flush());
    cb();
  }

  private flush(): void {
    if (!this.pending.length || this.raw.destroyed) return;
    const payload = Buffer.concat(this.pending);
    this.pending = [];
    this.raw.write(frame(PacketType.PRELOGIN, payload, PRELOGIN_PACKET_SIZE));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.flush();
    this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.raw.destroy();
    cb(err);
  }
}

export interface TlsContexts {
  /** TLS inside PRELOGIN: capped at 1.2 (tedious forces it; 1.3 there hung FreeTDS: tds.md pitfall 5). */
  wrapped: tls.SecureContext;
  /** TDS 8.0 strict: TLS from byte 0, 1.3 allowed. */
  strict: tls.SecureContext;
}

export function tlsContexts(material: TlsMaterial): TlsContexts {
  const common = { key: material.keyPem, cert: material.certPem + material.caCertPem, minVersion: "TLSv1.2" as const };
  return { wrapped: tls.createSecureContext({ ...common, maxVersion: "TLSv1.2" }), strict: tls.createSecureContext(common) };
}

export function serverTls(carrier: TlsCarrier, context: tls.SecureContext, strict: boolean): tls.TLSSocket {
  return new tls.TLSSocket(carrier, { isServer: true, secureContext: context, ...(strict ? { ALPNProtocols: ["tds/8.0"] } : {}) });
}

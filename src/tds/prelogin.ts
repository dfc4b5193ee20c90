import { ByteReader, TdsProtocolError } from "./byte-reader.js";

/** PRELOGIN ENCRYPTION values (tds.md §3.2). */
export const Encryption = { OFF: 0x00, ON: 0x01, NOT_SUP: 0x02, REQ: 0x03 } as const;

export interface Prelogin {
  encryption: number;
  /** Option 06 present: the client can do federated authentication and wants it echoed. */
  fedAuthRequired: boolean;
}

/** Option table of `[token u8][offset u16 BE][length u16 BE]` entries, 0xFF, then the data (tds.md §3.2). */
export function parsePrelogin(payload: Buffer): Prelogin {
  const r = new ByteReader(payload);
  const options = new Map<number, Buffer>();
  for (let i = 0; i < 64; i++) {
    const token = r.u8("PRELOGIN option");
    if (token === 0xff) break;
    const offset = r.u16be("PRELOGIN offset");
    const length = r.u16be("PRELOGIN length");
    if (offset + length > payload.length) throw new TdsProtocolError(`PRELOGIN option ${token} points past the payload`);
    options.set(token, payload.subarray(offset, offset + length));
  }
  const enc = options.get(0x01);
  return { encryption: enc && enc.length > 0 ? enc[0]! : Encryption.NOT_SUP, fedAuthRequired: options.has(0x06) };
}

/** What Azure SQL reports as its version: 12.0.2000.8. */
export const SERVER_VERSION = [12, 0, 2000, 8] as const;

/**
 * The server's PRELOGIN reply. THREADID is empty (tedious reads it only when present), and FEDAUTHREQUIRED is
 * echoed only when the client sent it. tedious 20 checks ENCRYPTION's offset lies after the table (§3.2).
 */
export function buildPrelogin(encryption: number, fedAuth: boolean): Buffer {
  const version = Buffer.alloc(6);
  version[0] = SERVER_VERSION[0];
  version[1] = SERVER_VERSION[1];
  version.writeUInt16BE(SERVER_VERSION[2], 2);
  version.writeUInt16BE(SERVER_VERSION[3], 4);
  const options: [number, Buffer][] = [
    [0x00, version],
    [0x01, Buffer.from([encryption])],
    [0x02, Buffer.from([0])],
    [0x03, Buffer.alloc(0)],
    [0x04, Buffer.from([0])],
  ];
  if (fedAuth) options.push([0x06, Buffer.from([1])]);
  const head = Buffer.alloc(options.length * 5 + 1);
  let offset = head.length;
  options.forEach(([token, data], i) => {
    head[i * 5] = token;
    head.writeUInt16BE(offset, i * 5 + 1);
    head.writeUInt16BE(data.length, i * 5 + 3);
    offset += data.length;
  });
  head[head.length - 1] = 0xff;
  return Buffer.concat([head, ...options.map(([, d]) => d)]);
}

/**
 * Encryption negotiation. Clients that can encrypt get TLS (Azure always encrypts); FreeTDS's default OFF
 * ("request") is answered REQ so it encrypts too. A client that cannot (tedious `encrypt:false` sends
 * NOT_SUP) is served in plaintext, because the issue asks `encrypt:false` to work locally.
 */
export function negotiate(client: number): { reply: number; tls: boolean } {
  if (client === Encryption.NOT_SUP) return { reply: Encryption.NOT_SUP, tls: false };
  if (client === Encryption.OFF) return { reply: Encryption.REQ, tls: true };
  return { reply: client === Encryption.REQ ? Encryption.REQ : Encryption.ON, tls: true };
}

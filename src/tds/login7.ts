import { ByteReader, TdsProtocolError } from "./byte-reader.js";

export type FedAuth = { kind: "token"; token: string; echo: boolean } | { kind: "msal"; workflow: number; echo: boolean };

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  library: string;
  database: string;
  fedAuth?: FedAuth;
}

const FIXED = 94;
/** LOGIN7 is at most 128 KiB (MS-TDS 2.2.6.4). */
export const MAX_LOGIN7 = 128 * 1024;
const FEATURE_FEDAUTH = 0x02;
const FEDAUTH_LIBRARY_SECURITYTOKEN = 0x01;
const FEDAUTH_LIBRARY_MSAL = 0x02;

/** Undoes LOGIN7's password scrambling: per byte, XOR 0xA5 then swap nibbles (tds.md §3.5). Not encryption. */
function unscramble(raw: Buffer): string {
  const pw = Buffer.from(raw);
  for (let i = 0; i < pw.length; i++) {
    const b = pw[i]! ^ 0xa5;
    pw[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return pw.toString("ucs2");
}

/**
 * LOGIN7: a 94-byte little-endian fixed part whose (offset, character count) pairs point into the variable
 * part. FeatureExt is found through the ibExtension pointer, because tedious 18 puts it in the middle and
 * 19/20 at the end (tds.md §3.5, pitfall 11).
 */
export function parseLogin7(p: Buffer): Login7 {
  if (p.length < FIXED) throw new TdsProtocolError(`LOGIN7 of ${p.length} bytes is shorter than its fixed part`);
  const str = (at: number, what: string): string => {
    const ib = p.readUInt16LE(at);
    const cch = p.readUInt16LE(at + 2);
    if (cch === 0) return "";
    return new ByteReader(p, ib).ucs2(cch, `LOGIN7 ${what}`);
  };
  const pwIb = p.readUInt16LE(44);
  const pwCch = p.readUInt16LE(46);
  const login: Login7 = {
    tdsVersion: p.readUInt32LE(4),
    packetSize: p.readUInt32LE(8),
    hostName: str(36, "HostName"),
    userName: str(40, "UserName"),
    password: pwCch ? unscramble(new ByteReader(p, pwIb).bytes(pwCch * 2, "LOGIN7 Password")) : "",
    appName: str(48, "AppName"),
    serverName: str(52, "ServerName"),
    library: str(60, "CltIntName"),
    database: str(68, "Database"),
  };
  const optionFlags3 = p[27]!;
  if (optionFlags3 & 0x10) {
    const ibExt = p.readUInt16LE(56);
    const cbExt = p.readUInt16LE(58);
    if (cbExt >= 4) {
      const r = new ByteReader(p, new ByteReader(p, ibExt).u32("FeatureExt pointer"));
      for (let i = 0; i < 32; i++) {
        const id = r.u8("FeatureExt id");
        if (id === 0xff) break;
        const data = r.bytes(r.u32("FeatureExt length"), "FeatureExt data");
        if (id === FEATURE_FEDAUTH) login.fedAuth = parseFedAuth(data);
      }
    }
  }
  return login;
}

function parseFedAuth(data: Buffer): FedAuth {
  const r = new ByteReader(data);
  const options = r.u8("FEDAUTH options");
  const library = options >> 1;
  const echo = (options & 1) === 1;
  if (library === FEDAUTH_LIBRARY_SECURITYTOKEN) {
    const len = r.u32("FEDAUTH token length");
    return { kind: "token", token: r.bytes(len, "FEDAUTH token").toString("ucs2"), echo };
  }
  if (library === FEDAUTH_LIBRARY_MSAL) return { kind: "msal", workflow: r.u8("FEDAUTH workflow"), echo };
  throw new TdsProtocolError(`FEDAUTH library ${library} is not supported`);
}

/** FEDAUTH_TOKEN (0x08): `u32 dataLen, u32 tokenLen, token UCS-2 [, nonce]` (tds.md §3.7). */
export function parseFedAuthToken(p: Buffer): string {
  const r = new ByteReader(p);
  r.u32("FEDAUTH_TOKEN data length");
  const len = r.u32("FEDAUTH_TOKEN token length");
  return r.bytes(len, "FEDAUTH_TOKEN token").toString("ucs2");
}

/** TDS versions a LOGINACK may echo (MS-TDS 2.2.7.14); anything else is answered 7.4. */
const KNOWN_VERSIONS = new Set([0x72090002, 0x730a0003, 0x730b0003, 0x74000004]);
export function replyVersion(clientVersion: number): number {
  return KNOWN_VERSIONS.has(clientVersion) ? clientVersion : 0x74000004;
}

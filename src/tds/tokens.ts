/**
 * Token encoders for the server's tabular-result messages (tds.md §3.6–3.11). All little-endian except
 * LOGINACK's TDS version (pitfall 3). Lengths: B_VARCHAR/US_VARCHAR count characters, token lengths bytes.
 */

export const Token = {
  RETURNSTATUS: 0x79,
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  INFO: 0xab,
  LOGINACK: 0xad,
  FEATUREEXTACK: 0xae,
  ROW: 0xd1,
  ENVCHANGE: 0xe3,
  FEDAUTHINFO: 0xee,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;

export const DoneStatus = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 } as const;

/** DONE's CurCmd for the statement kinds clients look at (SQL Server's values). */
export const CurCmd = { NONE: 0x00, SELECT: 0xc1, INSERT: 0xc3, DELETE: 0xc4, UPDATE: 0xc5, EXECUTE: 0xe0 } as const;

export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
export function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16LE(n & 0xffff);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
/** B_VARCHAR; SQL Server names are at most 128 characters, and the u8 count allows 255. */
export function bVarchar(s: string): Buffer {
  const t = s.length > 255 ? s.slice(0, 255) : s;
  return Buffer.concat([u8(t.length), Buffer.from(t, "ucs2")]);
}
export function usVarchar(s: string): Buffer {
  const t = s.length > 65_535 ? s.slice(0, 65_535) : s;
  return Buffer.concat([u16(t.length), Buffer.from(t, "ucs2")]);
}
const withLen16 = (token: number, body: Buffer): Buffer => Buffer.concat([u8(token), u16(body.length), body]);

/** SQL_Latin1_General_CP1_CI_AS: Azure SQL Database's default collation (code page 1252). */
export const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

export const EnvType = { DATABASE: 1, LANGUAGE: 2, PACKET_SIZE: 4, COLLATION: 7, BEGIN_TXN: 8, COMMIT_TXN: 9, ROLLBACK_TXN: 10, RESET_ACK: 18 } as const;

export function envChange(type: number, next: string, prev = ""): Buffer {
  return withLen16(Token.ENVCHANGE, Buffer.concat([u8(type), bVarchar(next), bVarchar(prev)]));
}
/** The collation ENVCHANGE: without it tedious refuses every VarChar parameter (pitfall 7). */
export function envCollation(): Buffer {
  return withLen16(Token.ENVCHANGE, Buffer.concat([u8(EnvType.COLLATION), u8(COLLATION.length), COLLATION, u8(0)]));
}
/** Transaction ENVCHANGEs carry B_VARBYTE descriptors (8 bytes), not strings (§3.10). */
export function envTxn(type: number, next: Buffer, prev: Buffer): Buffer {
  return withLen16(Token.ENVCHANGE, Buffer.concat([u8(type), u8(next.length), next, u8(prev.length), prev]));
}
export function envResetAck(): Buffer {
  return withLen16(Token.ENVCHANGE, Buffer.concat([u8(EnvType.RESET_ACK), u8(0), u8(0)]));
}

export interface Message {
  number: number;
  state?: number;
  severity: number;
  message: string;
  serverName?: string;
  procName?: string;
  line?: number;
}

function message(token: number, m: Message): Buffer {
  return withLen16(
    token,
    Buffer.concat([u32(m.number), u8(m.state ?? 1), u8(m.severity), usVarchar(m.message), bVarchar(m.serverName ?? ""), bVarchar(m.procName ?? ""), u32(m.line ?? 1)]),
  );
}
export const errorToken = (m: Message): Buffer => message(Token.ERROR, m);
export const infoToken = (m: Omit<Message, "severity"> & { severity?: number }): Buffer => message(Token.INFO, { severity: 0, ...m });

/** LOGINACK: interface 1 (T-SQL), TDS version big-endian, program name, version 12.0.2000 (§3.6). */
export function loginAck(tdsVersion: number): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(tdsVersion >>> 0);
  return withLen16(Token.LOGINACK, Buffer.concat([u8(1), version, bVarchar("Microsoft SQL Server"), Buffer.from([12, 0, 0x07, 0xd0])]));
}

/** FEATUREEXTACK with FEDAUTH only: tedious rejects acknowledgements of features it does not know (§3.6). */
export function featureExtAckFedAuth(): Buffer {
  return Buffer.concat([u8(Token.FEATUREEXTACK), u8(0x02), u32(0), u8(0xff)]);
}

/** FEDAUTHINFO: `u32 count`, count × `[id, dataLen, dataOffset]`, data; offsets count from `count` (§3.7). */
export function fedAuthInfo(stsUrl: string, spn: string): Buffer {
  const items: [number, Buffer][] = [
    [0x01, Buffer.from(stsUrl, "ucs2")],
    [0x02, Buffer.from(spn, "ucs2")],
  ];
  const head = Buffer.alloc(4 + 9 * items.length);
  head.writeUInt32LE(items.length, 0);
  let offset = head.length;
  items.forEach(([id, data], i) => {
    head[4 + i * 9] = id;
    head.writeUInt32LE(data.length, 5 + i * 9);
    head.writeUInt32LE(offset, 9 + i * 9);
    offset += data.length;
  });
  const body = Buffer.concat([head, ...items.map(([, d]) => d)]);
  return Buffer.concat([u8(Token.FEDAUTHINFO), u32(body.length), body]);
}

/** DONE / DONEPROC / DONEINPROC: status u16, curcmd u16, rowcount u64 (TDS ≥ 7.2). */
export function done(status: number, curCmd = 0, rows = 0, token: number = Token.DONE): Buffer {
  const b = Buffer.alloc(13);
  b[0] = token;
  b.writeUInt16LE(status, 1);
  b.writeUInt16LE(curCmd, 3);
  b.writeBigUInt64LE(BigInt(rows), 5);
  return b;
}

export const returnStatus = (value: number): Buffer => Buffer.concat([u8(Token.RETURNSTATUS), u32(value)]);

/**
 * RETURNVALUE (0xAC) for an int OUTPUT parameter, as sp_prepare and sp_prepexec return @handle: ordinal,
 * name, status 0x01 (output), UserType u32 (TDS ≥ 7.2), flags, TYPE_INFO INTN(4), then the value.
 */
export function returnValueInt(ordinal: number, name: string, value: number): Buffer {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  return Buffer.concat([u8(0xac), u16(ordinal), bVarchar(name), u8(0x01), u32(0), u16(0), Buffer.from([0x26, 0x04, 0x04]), v]);
}

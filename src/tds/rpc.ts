import { ByteReader, TdsProtocolError } from "./byte-reader.js";

/** Skips ALL_HEADERS (u32 total length, itself included) in front of SQL_BATCH, RPC and TM requests (§3.10). */
export function skipAllHeaders(r: ByteReader): void {
  const start = r.pos;
  const total = r.u32("ALL_HEADERS length");
  if (total < 4 || start + total > r.buf.length) throw new TdsProtocolError(`ALL_HEADERS length ${total} does not fit the message`);
  r.pos = start + total;
}

export type ParamValue = null | number | bigint | string | Buffer;

export interface RpcParam {
  /** Without the leading '@'; empty for positional parameters (pytds sends @statement/@params unnamed). */
  name: string;
  output: boolean;
  value: ParamValue;
}

export interface RpcRequest {
  /** ProcID (10 = sp_executesql) or undefined when the procedure is named. */
  procId?: number;
  procName: string;
  params: RpcParam[];
}

const PROC_NAMES: Record<number, string> = { 1: "sp_cursor", 2: "sp_cursoropen", 10: "sp_executesql", 11: "sp_prepare", 12: "sp_execute", 13: "sp_prepexec", 15: "sp_unprepare" };

/**
 * RPC: ProcID form (0xFFFF + id) and name form (old tedious, sqlcmdjs), OptionFlags, then parameters until
 * the end of the message. Only the first RPC of a message is read: no client we serve batches RPCs.
 */
export function parseRpc(payload: Buffer): RpcRequest {
  const r = new ByteReader(payload);
  skipAllHeaders(r);
  const nameLen = r.u16("RPC name length");
  let procId: number | undefined;
  let procName: string;
  if (nameLen === 0xffff) {
    procId = r.u16("RPC ProcID");
    procName = PROC_NAMES[procId] ?? `proc#${procId}`;
  } else procName = r.ucs2(nameLen, "RPC name");
  r.u16("RPC option flags");
  const params: RpcParam[] = [];
  while (r.remaining > 0) {
    const next = r.buf[r.pos]!;
    if (next === 0xff || next === 0x80) break; // the next RPC of a batch
    const name = r.bVarchar("parameter name").replace(/^@/, "");
    const status = r.u8("parameter status");
    params.push({ name, output: (status & 0x01) === 1, value: readTypedValue(r) });
    if (params.length > 2100) throw new TdsProtocolError("more than 2100 parameters");
  }
  return { procId, procName, params };
}

const cp1252 = new TextDecoder("windows-1252");

/** Reads one TYPE_INFO and the value that follows it, as a value SQLite can bind (tds.md §3.10). */
export function readTypedValue(r: ByteReader): ParamValue {
  const type = r.u8("TYPE_INFO");
  switch (type) {
    case 0x1f: // NULLTYPE
      return null;
    case 0x30: // INT1
      return r.u8();
    case 0x32: // BIT
      return r.u8() ? 1 : 0;
    case 0x34: // INT2
      return r.bytes(2).readInt16LE(0);
    case 0x38: // INT4
      return r.bytes(4).readInt32LE(0);
    case 0x7f: // INT8
      return int64(r.bytes(8));
    case 0x3b: // FLT4
      return r.bytes(4).readFloatLE(0);
    case 0x3e: // FLT8
      return r.bytes(8).readDoubleLE(0);
    case 0x3c: // MONEY
      return money(r.bytes(8));
    case 0x7a: // SMALLMONEY
      return r.bytes(4).readInt32LE(0) / 10_000;
    case 0x3d: // DATETIME
      return datetime(r.bytes(8));
    case 0x3a: // SMALLDATETIME
      return smallDatetime(r.bytes(4));
    case 0x26: // INTN
    case 0x68: // BITN
    case 0x6d: // FLTN
    case 0x6e: // MONEYN
    case 0x6f: // DATETIMEN
    case 0x24: {
      // GUID
      r.u8("max length");
      const len = r.u8("value length");
      if (len === 0) return null;
      const v = r.bytes(len, "value");
      if (type === 0x24) return guid(v);
      if (type === 0x68) return v[0] ? 1 : 0;
      if (type === 0x26) return len === 1 ? v[0]! : len === 2 ? v.readInt16LE(0) : len === 4 ? v.readInt32LE(0) : len === 8 ? int64(v) : bad(type, len);
      if (type === 0x6d) return len === 4 ? v.readFloatLE(0) : len === 8 ? v.readDoubleLE(0) : bad(type, len);
      if (type === 0x6e) return len === 4 ? v.readInt32LE(0) / 10_000 : len === 8 ? money(v) : bad(type, len);
      return len === 4 ? smallDatetime(v) : len === 8 ? datetime(v) : bad(type, len);
    }
    case 0x6a: // DECIMALN
    case 0x6c: {
      // NUMERICN
      r.u8("max length");
      r.u8("precision");
      const scale = r.u8("scale");
      const len = r.u8("value length");
      if (len === 0) return null;
      const v = r.bytes(len, "decimal");
      let magnitude = 0n;
      for (let i = len - 1; i >= 1; i--) magnitude = (magnitude << 8n) | BigInt(v[i]!);
      const sign = v[0] === 1 ? 1 : -1;
      return (sign * Number(magnitude)) / 10 ** scale;
    }
    case 0x28: {
      // DATEN
      const len = r.u8("value length");
      if (len === 0) return null;
      return dateOf(r.bytes(len).readUIntLE(0, 3));
    }
    case 0x29: // TIMEN
    case 0x2a: // DATETIME2N
    case 0x2b: {
      // DATETIMEOFFSETN
      const scale = r.u8("scale");
      const len = r.u8("value length");
      if (len === 0) return null;
      const v = r.bytes(len, "time value");
      const timeLen = scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
      const time = timeOf(v.readUIntLE(0, timeLen), scale);
      if (type === 0x29) return time;
      const date = dateOf(v.readUIntLE(timeLen, 3));
      if (type === 0x2a) return `${date} ${time}`;
      // DATETIMEOFFSET carries the UTC date and time plus the client's offset: stored as UTC.
      return `${date} ${time} +00:00`;
    }
    case 0xa5: // BIGVARBINARY
    case 0xad: // BIGBINARY
    case 0xa7: // BIGVARCHAR
    case 0xaf: // BIGCHAR
    case 0xe7: // NVARCHAR
    case 0xef: {
      // NCHAR
      const max = r.u16("max length");
      if (type !== 0xa5 && type !== 0xad) r.bytes(5, "collation");
      const data = max === 0xffff ? readPlp(r) : readShort(r);
      if (data === null) return null;
      if (type === 0xa5 || type === 0xad) return Buffer.from(data);
      if (type === 0xa7 || type === 0xaf) return cp1252.decode(data);
      return data.toString("ucs2");
    }
    case 0x22: // IMAGE
    case 0x23: // TEXT
    case 0x63: {
      // NTEXT
      r.u32("max length");
      if (type !== 0x22) r.bytes(5, "collation");
      const len = r.u32("value length");
      if (len === 0xffffffff) return null;
      const data = r.bytes(len, "value");
      return type === 0x22 ? Buffer.from(data) : type === 0x23 ? cp1252.decode(data) : data.toString("ucs2");
    }
    case 0xf1: {
      // XML: schema flag (0 = none), then PLP UTF-16
      if (r.u8("xml schema flag")) throw new TdsProtocolError("typed XML parameters are not supported");
      const data = readPlp(r);
      return data === null ? null : data.toString("ucs2");
    }
    default:
      throw new TdsProtocolError(`parameter type 0x${type.toString(16)} is not supported`);
  }
}

function bad(type: number, len: number): never {
  throw new TdsProtocolError(`length ${len} is invalid for type 0x${type.toString(16)}`);
}

function readShort(r: ByteReader): Buffer | null {
  const len = r.u16("value length");
  return len === 0xffff ? null : r.bytes(len, "value");
}

/** PLP: u64 total (all ones = NULL), chunks `u32 len + bytes` until a u32 0. */
function readPlp(r: ByteReader): Buffer | null {
  const lo = r.u32("PLP length");
  const hi = r.u32("PLP length");
  if (lo === 0xffffffff && hi === 0xffffffff) return null;
  const chunks: Buffer[] = [];
  for (;;) {
    const len = r.u32("PLP chunk length");
    if (len === 0) break;
    chunks.push(r.bytes(len, "PLP chunk"));
  }
  return Buffer.concat(chunks);
}

function int64(b: Buffer): number | bigint {
  const v = b.readBigInt64LE(0);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function money(b: Buffer): number {
  const high = b.readInt32LE(0);
  const low = b.readUInt32LE(4);
  return (high * 0x1_0000_0000 + low) / 10_000;
}

function guid(b: Buffer): string {
  if (b.length !== 16) throw new TdsProtocolError("GUID of the wrong length");
  const h = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(b.subarray(from, to));
    return (reverse ? part.reverse() : part).toString("hex");
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`.toUpperCase();
}

const DAY_MS = 86_400_000;
const EPOCH_1900 = Date.UTC(1900, 0, 1);
const EPOCH_0001 = Date.UTC(2000, 0, 1) - 730_119 * DAY_MS; // 0001-01-01 (Date.UTC maps years < 100 to 19xx)
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function isoDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** DATETIME: days since 1900-01-01 and 1/300 s ticks, rendered as SQL Server prints it. */
function datetime(b: Buffer): string {
  const days = b.readInt32LE(0);
  const ms = Math.round((b.readUInt32LE(4) * 10) / 3);
  return `${isoDate(EPOCH_1900 + days * DAY_MS)} ${clock(ms * 10_000, 3)}`;
}

function smallDatetime(b: Buffer): string {
  return `${isoDate(EPOCH_1900 + b.readUInt16LE(0) * DAY_MS)} ${clock(b.readUInt16LE(2) * 60 * 10_000_000, 0)}`;
}

function dateOf(days: number): string {
  return isoDate(EPOCH_0001 + days * DAY_MS);
}

function timeOf(units: number, scale: number): string {
  return clock(units * 10 ** (7 - scale), scale);
}

/** hh:mm:ss[.fraction] from 100 ns units. */
function clock(units100ns: number, scale: number): string {
  const totalSeconds = Math.floor(units100ns / 10_000_000);
  const fraction = units100ns % 10_000_000;
  const base = `${pad(Math.floor(totalSeconds / 3600))}:${pad(Math.floor(totalSeconds / 60) % 60)}:${pad(totalSeconds % 60)}`;
  return scale > 0 ? `${base}.${pad(fraction, 7).slice(0, scale)}` : base;
}

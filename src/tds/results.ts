import { COLLATION, Token, bVarchar, u16, u32, u8 } from "./tokens.js";

type Kind = "int" | "bigint" | "float" | "text" | "blob";
export interface Column {
  name: string;
  kind: Kind;
  /** NVARCHAR(max) / VARBINARY(max): values are sent as PLP (tds.md §6). */
  max: boolean;
  /** Declared length: characters for text, bytes for blobs. */
  len: number;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const NVARCHAR_MAX_CHARS = 4000;
const VARBINARY_MAX_BYTES = 8000;

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/**
 * SQLite types each value, TDS one column before the first row, so the column type comes from all its
 * values (tds.md §6): integers within int32 → INT, larger → BIGINT, any fraction → FLOAT, text → NVARCHAR
 * (max beyond 4000), blobs → VARBINARY (max beyond 8000), a mixture with text → NVARCHAR, only NULLs → INT
 * (as SQL Server types `SELECT NULL`). The engine returns numbers, so a REAL holding 2.0 reads as an integer.
 */
export function columnsOf(names: string[], rows: Record<string, unknown>[]): Column[] {
  return names.map((name) => {
    let ints = false;
    let big = false;
    let floats = false;
    let texts = false;
    let blobs = false;
    let len = 1;
    for (const row of rows) {
      const v = row[name];
      if (v === null || v === undefined) continue;
      if (typeof v === "number") {
        if (Number.isInteger(v)) {
          ints = true;
          if (v < INT32_MIN || v > INT32_MAX) big = true;
        } else floats = true;
      } else if (typeof v === "bigint") {
        ints = true;
        if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX)) big = true;
      } else if (typeof v === "boolean") ints = true;
      else if (isBytes(v)) {
        blobs = true;
        len = Math.max(len, v.length);
      } else {
        texts = true;
        len = Math.max(len, String(v).length);
      }
    }
    if (texts || (blobs && (ints || floats))) {
      // Mixed columns become text; blobs render as 0x… hex, so they count double.
      if (blobs) len = Math.max(len, ...rows.map((r) => (isBytes(r[name]) ? (r[name] as Uint8Array).length * 2 + 2 : 0)));
      return { name, kind: "text", max: len > NVARCHAR_MAX_CHARS, len };
    }
    if (blobs) return { name, kind: "blob", max: len > VARBINARY_MAX_BYTES, len };
    if (floats) return { name, kind: "float", max: false, len: 8 };
    return { name, kind: big ? "bigint" : "int", max: false, len: big ? 8 : 4 };
  });
}

/** COLMETADATA: per column usertype 0, flags 0x0001 (nullable), TYPE_INFO, B_VARCHAR name (§3.11). */
export function colMetadata(cols: Column[]): Buffer {
  const parts: Buffer[] = [u8(Token.COLMETADATA), u16(cols.length)];
  for (const c of cols) {
    parts.push(u32(0), u16(0x0001));
    switch (c.kind) {
      case "int":
        parts.push(Buffer.from([0x26, 4]));
        break;
      case "bigint":
        parts.push(Buffer.from([0x26, 8]));
        break;
      case "float":
        parts.push(Buffer.from([0x6d, 8]));
        break;
      case "text":
        // NVARCHAR's max length is in bytes (pitfall 14).
        parts.push(u8(0xe7), u16(c.max ? 0xffff : Math.max(2, c.len * 2)), COLLATION);
        break;
      case "blob":
        parts.push(u8(0xa5), u16(c.max ? 0xffff : Math.max(1, c.len)));
        break;
    }
    parts.push(bVarchar(c.name));
  }
  return Buffer.concat(parts);
}

const PLP_NULL = Buffer.alloc(8, 0xff);
const NULL_SHORT = Buffer.from([0xff, 0xff]);
const NULL_BYTE = Buffer.from([0]);

/** PLP: u64 total length, chunks of `u32 len + bytes`, a u32 0 terminator (§3.10). */
function plp(data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(data.length));
  return data.length ? Buffer.concat([head, u32(data.length), data, u32(0)]) : Buffer.concat([head, u32(0)]);
}

function textOf(v: unknown): string {
  if (isBytes(v)) return "0x" + Buffer.from(v).toString("hex");
  return String(v);
}

function numberOf(v: unknown): number {
  return typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
}

/** One ROW token. */
export function rowToken(cols: Column[], row: Record<string, unknown>): Buffer {
  const parts: Buffer[] = [u8(Token.ROW)];
  for (const c of cols) {
    const v = row[c.name];
    const isNull = v === null || v === undefined;
    switch (c.kind) {
      case "int": {
        if (isNull) parts.push(NULL_BYTE);
        else {
          const b = Buffer.allocUnsafe(5);
          b[0] = 4;
          b.writeInt32LE(numberOf(v), 1);
          parts.push(b);
        }
        break;
      }
      case "bigint": {
        if (isNull) parts.push(NULL_BYTE);
        else {
          const b = Buffer.allocUnsafe(9);
          b[0] = 8;
          b.writeBigInt64LE(typeof v === "bigint" ? v : BigInt(Math.trunc(numberOf(v))), 1);
          parts.push(b);
        }
        break;
      }
      case "float": {
        if (isNull) parts.push(NULL_BYTE);
        else {
          const b = Buffer.allocUnsafe(9);
          b[0] = 8;
          b.writeDoubleLE(numberOf(v), 1);
          parts.push(b);
        }
        break;
      }
      case "text":
      case "blob": {
        if (isNull) parts.push(c.max ? PLP_NULL : NULL_SHORT);
        else {
          const data = c.kind === "text" ? Buffer.from(textOf(v), "ucs2") : Buffer.from(v as Uint8Array);
          parts.push(c.max ? plp(data) : Buffer.concat([u16(data.length), data]));
        }
        break;
      }
    }
  }
  return Buffer.concat(parts);
}

import { TdsProtocolError } from "./byte-reader.js";

/** TDS packet types (tds.md §3.1). */
export const PacketType = {
  SQL_BATCH: 0x01,
  RPC: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  FEDAUTH_TOKEN: 0x08,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
} as const;

const HEADER = 8;
const STATUS_EOM = 0x01;
/** Status bit 0x08: the client asks for its session state to be reset before this request (tedious' reset()). */
export const STATUS_RESET_CONNECTION = 0x08;

export interface TdsMessage {
  type: number;
  /** The status byte of the message's first packet (RESETCONNECTION lives there). */
  status: number;
  payload: Buffer;
}

/**
 * Cuts a byte stream into packets (8-byte header, big-endian length: tds.md §3.1) and joins packets into
 * messages at EOM. `maxMessage` bounds what one connection can make us hold (issue 8 §5): a longer message
 * is a protocol error, not an allocation.
 */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private size = 0;
  private firstStatus = -1;
  private type = -1;

  constructor(
    private readonly onMessage: (m: TdsMessage) => void,
    public maxMessage: number,
  ) {}

  /** True while part of a packet is buffered: the next chunk continues it. */
  get midPacket(): boolean {
    return this.buf.length > 0;
  }

  private diverted: ((chunk: Buffer) => void) | undefined;

  /**
   * From now on bytes are not cut into messages but handed to `to` as they come (the TDS Proxy relays them
   * unchanged); bytes already buffered go first.
   */
  divert(to: (chunk: Buffer) => void): void {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    this.parts = [];
    this.size = 0;
    this.diverted = to;
    if (rest.length) to(rest);
  }

  push(chunk: Buffer): void {
    if (this.diverted) return this.diverted(chunk);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt16BE(2);
      if (len < HEADER) throw new TdsProtocolError(`bad TDS packet length ${len}`);
      if (this.buf.length < len) break;
      const type = this.buf[0]!;
      const status = this.buf[1]!;
      if (this.type !== -1 && type !== this.type) throw new TdsProtocolError(`packet type 0x${type.toString(16)} inside a 0x${this.type.toString(16)} message`);
      if (this.firstStatus === -1) this.firstStatus = status;
      this.type = type;
      this.size += len - HEADER;
      if (this.size > this.maxMessage) throw new TdsProtocolError(`message longer than ${this.maxMessage} bytes`);
      this.parts.push(this.buf.subarray(HEADER, len));
      this.buf = this.buf.subarray(len);
      if (status & STATUS_EOM) {
        const m: TdsMessage = { type, status: this.firstStatus, payload: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts) };
        this.parts = [];
        this.size = 0;
        this.firstStatus = -1;
        this.type = -1;
        this.onMessage(m);
      }
    }
  }
}

/** Splits a payload into packets of `packetSize` (header included), numbered 1, 2, … (tds.md §3.1). */
export function frame(type: number, payload: Buffer, packetSize: number, spid = 0): Buffer {
  const max = packetSize - HEADER;
  const count = Math.max(1, Math.ceil(payload.length / max));
  const out = Buffer.allocUnsafe(payload.length + count * HEADER);
  let o = 0;
  for (let i = 0; i < count; i++) {
    const chunk = payload.subarray(i * max, (i + 1) * max);
    out[o] = type;
    out[o + 1] = i === count - 1 ? STATUS_EOM : 0;
    out.writeUInt16BE(chunk.length + HEADER, o + 2);
    out.writeUInt16BE(spid & 0xffff, o + 4);
    out[o + 6] = (i + 1) & 0xff;
    out[o + 7] = 0;
    chunk.copy(out, o + HEADER);
    o += chunk.length + HEADER;
  }
  return out;
}

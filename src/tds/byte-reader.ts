/** A malformed client message: the connection that sent it is closed with this reason (issue 8 §5). */
export class TdsProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TdsProtocolError";
  }
}

/**
 * A cursor over one message payload. Every read is bounds-checked, so a truncated or lying length field
 * surfaces as a TdsProtocolError instead of a RangeError deep in Buffer (the fuzz test relies on this).
 */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new TdsProtocolError(`truncated ${what} at offset ${this.pos} (need ${n}, have ${this.remaining})`);
  }

  u8(what = "byte"): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what = "u16"): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u16be(what = "u16"): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what = "u32"): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what = "bytes"): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** UCS-2 text of `chars` characters (TDS counts string lengths in characters). */
  ucs2(chars: number, what = "string"): string {
    return this.bytes(chars * 2, what).toString("ucs2");
  }
  /** B_VARCHAR: u8 character count, then UCS-2. */
  bVarchar(what = "B_VARCHAR"): string {
    return this.ucs2(this.u8(what), what);
  }
  /** US_VARCHAR: u16 character count, then UCS-2. */
  usVarchar(what = "US_VARCHAR"): string {
    return this.ucs2(this.u16(what), what);
  }
}

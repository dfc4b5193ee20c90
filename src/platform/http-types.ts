/**
 * The shape every surface (Entra, ARM, Key Vault, ...) speaks. The front door adapts the HTTP server to it,
 * so components hold no framework types and can be exercised in-process.
 */
export interface SurfaceRequest {
  method: string;
  /** Host header as sent, lower-cased, port included. */
  host: string;
  /** `https://{host}` as the client addressed us: absolute URLs we hand out use it. */
  origin: string;
  /** Path without the query, percent-decoding left to the surface. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  requestId: string;
  correlationId: string;
  /** Socket peer address, for network ACLs. */
  remoteAddress: string;
}

export interface SurfaceResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless a string or a Buffer (sent as-is). */
  body?: unknown;
  /**
   * A long-lived response (server-sent events): the front door sends status and headers, then hands the
   * connection to `stream`, which writes until the client goes away. `body` is ignored.
   */
  stream?: (sink: StreamSink) => void;
}

/** The writable end of a streamed response, free of framework types. */
export interface StreamSink {
  /** false when the socket's buffer is full: wait for `onDrain` before writing more. */
  write(chunk: string): boolean;
  onDrain(cb: () => void): void;
  /** Called once when the client disconnects or the server stops. */
  onClose(cb: () => void): void;
  end(): void;
}

export type SurfaceHandler = (req: SurfaceRequest) => Promise<SurfaceResponse | undefined>;

export const header = (req: SurfaceRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

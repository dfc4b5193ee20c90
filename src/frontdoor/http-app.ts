import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from "fastify";
import { type Logger, type SurfaceRequest, type SurfaceResponse, newGuid } from "../platform/index.js";

/** 4 MB, ARM's request size limit; larger bodies get the surface's 413. */
export const BODY_LIMIT = 4 * 1024 * 1024;

export interface AppOptions {
  serverFactory: FastifyServerFactory;
  scheme: "https" | "http";
  /** Answers a request; the front door picks the surface from the Host header. */
  dispatch(req: SurfaceRequest): Promise<SurfaceResponse>;
  /** Renders a framework-level failure (oversized or unreadable body) in the addressed surface's envelope. */
  renderError(req: SurfaceRequest, status: number, code: string, message: string): SurfaceResponse;
  log: Logger;
}

function toSurfaceRequest(req: FastifyRequest, scheme: string): SurfaceRequest {
  const raw = req.raw.url ?? "/";
  // Absolute-form targets arrive on the proxy port ("GET http://169.254.169.254/metadata/...").
  const url = /^https?:\/\//i.test(raw) ? new URL(raw) : new URL(raw.replace(/^\/+/, "/"), "http://x");
  const host = (/^https?:\/\//i.test(raw) ? url.host : req.headers.host ?? "").toLowerCase();
  const correlation = req.headers["x-ms-correlation-request-id"];
  return {
    method: req.method.toUpperCase(),
    host,
    origin: `${scheme}://${host.replace(/:443$/, "")}`,
    path: raw.startsWith("/") ? raw.split("?")[0]! : url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    requestId: req.id,
    correlationId: typeof correlation === "string" && correlation.length <= 100 ? correlation : newGuid(),
    remoteAddress: req.socket.remoteAddress ?? "",
  };
}

/**
 * A streamed response (the portal's SSE hints) leaves fastify's reply cycle: status and headers go out at
 * once, then the surface writes until the client disconnects. Node's requestTimeout and headersTimeout only
 * bound receiving the request, and keepAliveTimeout only idle sockets, so neither cuts a live stream.
 */
function sendStream(reply: FastifyReply, sreq: SurfaceRequest, res: SurfaceResponse, log: Logger): FastifyReply {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(res.status, { ...res.headers, "x-ms-request-id": sreq.requestId, "x-ms-correlation-request-id": sreq.correlationId });
  raw.flushHeaders();
  const closers: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const cb of closers) cb();
    log.info({ reqId: sreq.requestId, method: sreq.method, host: sreq.host, path: sreq.path, status: res.status }, "stream closed");
  };
  raw.on("close", close);
  raw.on("error", close);
  res.stream!({
    write: (chunk) => (closed ? false : raw.write(chunk)),
    onDrain: (cb) => raw.once("drain", cb),
    onClose: (cb) => (closed ? cb() : closers.push(cb)),
    end: () => raw.end(),
  });
  return reply;
}

function send(reply: FastifyReply, sreq: SurfaceRequest, res: SurfaceResponse): FastifyReply {
  reply.code(res.status);
  reply.header("x-ms-request-id", sreq.requestId);
  reply.header("x-ms-correlation-request-id", sreq.correlationId);
  for (const [k, v] of Object.entries(res.headers ?? {})) reply.header(k, v);
  if (res.body === undefined || sreq.method === "HEAD") return reply.send();
  if (typeof res.body === "string" || Buffer.isBuffer(res.body)) return reply.send(res.body);
  reply.header("content-type", "application/json; charset=utf-8");
  return reply.send(JSON.stringify(res.body));
}

/** One fastify app per listener; both hand every request to the same dispatcher. */
export function createHttpApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({
    serverFactory: opts.serverFactory,
    bodyLimit: BODY_LIMIT,
    logger: false,
    forceCloseConnections: true,
    genReqId: () => newGuid(),
    requestIdHeader: false,
    routerOptions: { ignoreDuplicateSlashes: false, ignoreTrailingSlash: false, caseSensitive: false, maxParamLength: 2000 },
  });
  // Bodies stay raw: each surface parses (and rejects) them in its own envelope.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message?: string }, req, reply) => {
    const sreq = toSurfaceRequest(req, opts.scheme);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) opts.log.error({ reqId: req.id, err: { message: err.message, code: err.code } }, "unhandled error");
    const code = status === 413 ? "RequestEntityTooLarge" : status === 500 ? "InternalServerError" : "BadRequest";
    const message = status === 413 ? "The request content size exceeds the maximum size of 4 MB." : status === 500 ? "An internal error occurred." : "The request could not be read.";
    return send(reply, sreq, opts.renderError(sreq, status, code, message));
  });

  app.addHook("onResponse", async (req, reply) => {
    opts.log.info(
      { reqId: req.id, method: req.method, host: req.headers.host, path: (req.raw.url ?? "").split("?")[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      "request",
    );
  });

  app.all("*", async (req, reply) => {
    const sreq = toSurfaceRequest(req, opts.scheme);
    const res = await opts.dispatch(sreq);
    return res.stream && sreq.method !== "HEAD" ? sendStream(reply, sreq, res, opts.log) : send(reply, sreq, res);
  });
  return app;
}

import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Logger, SurfaceHandler, SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import type { TlsMaterial } from "./ca.js";
import { classifyHost, hostName, portalOrigins, proxyAllows, type SurfaceName } from "./hosts.js";
import { corsApplies, createCors } from "./cors.js";
import { createHttpApp } from "./http-app.js";

export interface Surfaces {
  /** The portal's files and hint stream, asked first on the ARM and direct hosts (issue 9). */
  portal?: SurfaceHandler;
  /** Entra ID and the managed-identity endpoints. */
  login: SurfaceHandler;
  /** Microsoft Graph's principal look-ups (graph.microsoft.com). */
  graph?: SurfaceHandler;
  arm: SurfaceHandler;
  /** Later issues plug these in; until then the front door says what is missing. */
  vault?: SurfaceHandler;
  sql?: SurfaceHandler;
  /**
   * `GET /metrics` in Prometheus text format (issue 11 §4): asked on the direct host only, never on
   * management.azure.com or any other name the proxy serves, which stay Azure-only.
   */
  metrics?: SurfaceHandler;
}

export interface FrontDoorOptions {
  tls: TlsMaterial;
  host: string;
  port: number;
  proxyPort: number;
  surfaces: Surfaces;
  log: Logger;
}

export interface RunningFrontDoor {
  port: number;
  proxyPort: number;
  stop(): Promise<void>;
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/**
 * Node closes idle keep-alive connections after 5 s; a client that reuses its pooled socket at that moment
 * gets ECONNRESET ("socket hang up"), and SDKs with retries off surface it. Azure's front ends keep idle
 * connections for minutes; so does tdekv (fastify's own default does not apply with a serverFactory).
 */
function keepAlive(server: http.Server | https.Server): void {
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
}

/** Errors before any surface answered: ARM's envelope for ARM and direct hosts, Entra's for login. */
function renderError(surface: SurfaceName, status: number, code: string, message: string): SurfaceResponse {
  if (surface === "login") return { status, body: { error: status === 413 ? "invalid_request" : "server_error", error_description: message } };
  return { status, body: errorBody(code, message) };
}

/**
 * One TLS listener serves every surface and routes by Host; the CONNECT proxy terminates TLS with the same
 * certificate for the Azure names it allows and hands the decrypted stream to that listener, so proxy mode
 * and direct mode share one code path (architecture.md "Two ways in", az-cli-compat.md §2).
 */
export async function startFrontDoor(opts: FrontDoorOptions): Promise<RunningFrontDoor> {
  const directHosts = new Set(["localhost", "127.0.0.1", "::1", hostName(opts.host)]);
  const { surfaces, log } = opts;
  let boundPort = opts.port;
  const cors = createCors(() => portalOrigins(opts.host, boundPort));

  /** CORS wraps the surfaces the portal calls cross-origin (token endpoint, Key Vault); see cors.ts. */
  async function dispatch(req: SurfaceRequest): Promise<SurfaceResponse> {
    const surface = classifyHost(req.host, directHosts);
    if (!corsApplies(surface, req)) return route(surface, req);
    if (cors.isPreflight(req)) return cors.preflight(req);
    return cors.decorate(req, await route(surface, req));
  }

  async function route(surface: SurfaceName, req: SurfaceRequest): Promise<SurfaceResponse> {
    switch (surface) {
      case "login":
        return (await surfaces.login(req)) ?? { status: 404, body: { error: "invalid_request", error_description: `AADSTS90000: The path '${req.path}' is not an Entra ID endpoint tdekv serves.` } };
      case "arm":
        return (surfaces.portal && (await surfaces.portal(req))) ?? (await surfaces.arm(req))!;
      case "graph":
        return (surfaces.graph && (await surfaces.graph(req))) ?? { status: 404, body: errorBody("Request_ResourceNotFound", "Microsoft Graph is not served.") };
      case "direct":
        // Direct mode: one origin carries the metrics, Entra (/{tenant}/oauth2/...), the managed-identity endpoint and ARM.
        return (surfaces.metrics && (await surfaces.metrics(req))) ?? (surfaces.portal && (await surfaces.portal(req))) ?? (await surfaces.login(req)) ?? (await surfaces.arm(req))!;
      case "vault":
        return (surfaces.vault && (await surfaces.vault(req))) ?? { status: 404, body: errorBody("NotFound", "Key Vault is not served by this tdekv build yet.") };
      case "sql":
        return (surfaces.sql && (await surfaces.sql(req))) ?? { status: 404, body: errorBody("NotFound", "There is no HTTP endpoint at *.database.windows.net.") };
      default:
        return { status: 421, body: errorBody("MisdirectedRequest", `tdekv does not serve the host '${req.host}'. It serves management.azure.com, login.microsoftonline.com, *.vault.azure.net and *.database.windows.net through its proxy, and localhost directly.`) };
    }
  }

  let httpsServer: https.Server | undefined;
  const tlsApp = createHttpApp({
    scheme: "https",
    log,
    dispatch,
    renderError: (req, status, code, message) => renderError(classifyHost(req.host, directHosts), status, code, message),
    serverFactory: (handler) => {
      httpsServer = https.createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem + opts.tls.caCertPem, minVersion: "TLSv1.2" }, handler);
      keepAlive(httpsServer);
      return httpsServer;
    },
  });

  // The proxy port: CONNECT tunnels, plus plain-HTTP managed-identity requests (IDENTITY_ENDPOINT is http).
  const tunnels = new Set<Socket>();
  let proxyServer: http.Server | undefined;
  const proxyApp = createHttpApp({
    scheme: "http",
    log,
    dispatch: async (req) => {
      const p = req.path.replace(/\/+$/, "");
      if (p === "/msi/token" || p === "/metadata/identity/oauth2/token") return (await surfaces.login(req))!;
      return { status: 400, body: errorBody("BadRequest", "This is tdekv's proxy port: it tunnels HTTPS with CONNECT and serves only the managed-identity endpoints over plain HTTP.") };
    },
    renderError: (_req, status, code, message) => renderError("direct", status, code, message),
    serverFactory: (handler) => {
      proxyServer = http.createServer(handler);
      keepAlive(proxyServer);
      proxyServer.on("connect", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
        const target = req.url ?? "";
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
        const host = m?.[1] ?? target;
        if (!m || m[2] !== "443" || !proxyAllows(host)) {
          log.info({ target }, "proxy refused");
          const msg = `tdekv refuses to tunnel to '${target}': it only serves management.azure.com, login.microsoftonline.com, graph.microsoft.com, *.vault.azure.net and *.database.windows.net on port 443, and never forwards anywhere.\n`;
          socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(msg)}\r\nconnection: close\r\n\r\n${msg}`);
          return;
        }
        tunnels.add(socket);
        socket.on("close", () => tunnels.delete(socket));
        socket.on("error", () => socket.destroy());
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length) socket.unshift(head);
        httpsServer!.emit("connection", socket);
      });
      return proxyServer;
    },
  });

  await tlsApp.listen({ host: opts.host, port: opts.port });
  boundPort = (httpsServer!.address() as AddressInfo).port;
  try {
    await proxyApp.listen({ host: opts.host, port: opts.proxyPort });
  } catch (err) {
    await tlsApp.close();
    throw err;
  }
  return {
    port: (httpsServer!.address() as AddressInfo).port,
    proxyPort: (proxyServer!.address() as AddressInfo).port,
    async stop() {
      for (const s of tunnels) s.destroy();
      await Promise.all([proxyApp.close(), tlsApp.close()]);
    },
  };
}

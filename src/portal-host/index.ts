import { ArmError, armErrors, armResponses } from "../arm/index.js";
import type { ChangeFeed, Clock, SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import { createEventsStream } from "./events-stream.js";
import { createStaticFiles, PORTAL_DIST } from "./static-files.js";

export { PORTAL_DIST, portalCsp } from "./static-files.js";
export { PING_INTERVAL_MS, RETRY_MS, QUEUE_LIMIT, MAX_STREAMS } from "./events-stream.js";

export interface PortalHostDeps {
  feed: ChangeFeed;
  clock: Clock;
  clockRate(): number;
  /** Admits principals of the bootstrap tenant (users and service principals); throws ArmError otherwise. */
  authorize(req: SurfaceRequest): Promise<void>;
  /** Where the built portal lives; dist/portal/ of the package by default. */
  distDir?: string;
  /** Revokes users' refresh tokens (one user's, or all): the portal's sessions end at their next refresh. */
  revokeSessions?(objectId?: string): Promise<number>;
}

export interface PortalHost {
  /** Answers `/portal[/...]` and `/_tdekv/events` on the ARM and direct hosts; undefined for anything else. */
  surface(req: SurfaceRequest): Promise<SurfaceResponse | undefined>;
  openStreams(): number;
}

/**
 * The portal's host (issue 9 §1, §4): the static SPA at `/portal/` (same origin as ARM, so the portal needs
 * no CORS for ARM) and the hint stream. The portal itself imports nothing from src/: it speaks ARM, Key
 * Vault and the Activity Log like any SDK (architecture.md, portal.md §2).
 */
export function createPortalHost(deps: PortalHostDeps): PortalHost {
  const files = createStaticFiles(deps.distDir ?? PORTAL_DIST);
  const events = createEventsStream(deps);
  return {
    openStreams: () => events.openStreams,
    async surface(req) {
      const p = req.path;
      const lower = p.toLowerCase();
      if (lower === "/portal") {
        const q = req.query.toString();
        return { status: 301, headers: { location: `/portal/${q ? `?${q}` : ""}`, "cache-control": "no-cache" } };
      }
      if (lower.startsWith("/portal/")) return files(req, p.slice("/portal/".length));
      if (lower.replace(/\/+$/, "") === "/_tdekv/events") {
        try {
          if (req.method !== "GET") throw armErrors.methodNotAllowed(req.method, req.path);
          await deps.authorize(req);
          return events.respond(req);
        } catch (err) {
          if (err instanceof ArmError) return armResponses.armErrorResponse(err);
          throw err;
        }
      }
      if (lower.replace(/\/+$/, "") === "/_tdekv/sessions/revoke") {
        try {
          if (req.method !== "POST") throw armErrors.methodNotAllowed(req.method, req.path);
          await deps.authorize(req);
          let body: { objectId?: unknown } = {};
          try {
            body = req.body.length ? (JSON.parse(req.body.toString("utf8")) as typeof body) : {};
          } catch {
            throw armErrors.invalidRequestContent("invalid JSON");
          }
          const objectId = typeof body.objectId === "string" ? body.objectId : undefined;
          return armResponses.ok({ revoked: (await deps.revokeSessions?.(objectId)) ?? 0 });
        } catch (err) {
          if (err instanceof ArmError) return armResponses.armErrorResponse(err);
          throw err;
        }
      }
      return undefined;
    },
  };
}

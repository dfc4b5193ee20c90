import { randomBytes } from "node:crypto";
import type { SecretBox, SurfaceRequest, SurfaceResponse } from "../../platform/index.js";
import { kvErrors } from "./errors.js";
import type { KeyService, VaultContext } from "./key-service.js";
import { backupKey, restoreKey } from "./key-backup.js";
import { runCrypto, type CryptoOperation } from "./key-operations.js";
import type { KeyOperationName } from "./domain/permissions.js";
import { decodeBase64Url, encodeBase64Url, parseJsonBody, requiredString } from "./domain/validation.js";
import {
  decodeSkipToken,
  deletedKeyBundle,
  deletedKeyItem,
  encodeSkipToken,
  keyBundle,
  keyId,
  keyItem,
  nextLink,
  parseMaxResults,
  rotationPolicyBody,
} from "./wire.js";

/**
 * The keys endpoint table (keyvault.md §1.2) and path normalisation (§1.6, sdk-compat.md §3.4): literal
 * segments are case-insensitive (.NET sends /wrapKey), a trailing slash or an empty version means the
 * latest version (`GET /keys/k/`, `POST /keys/k//wrapkey`), crypto routes exist with and without version.
 */
export interface RouteEnv {
  svc: KeyService;
  box: SecretBox;
  ctx: VaultContext;
  req: SurfaceRequest;
  apiVersion: string;
}

export interface RouteMatch {
  op: KeyOperationName;
  /** Key name from the path (for RBAC's resource and messages). */
  name?: string;
  run(env: RouteEnv): Promise<SurfaceResponse>;
}

const ok = (body: unknown): SurfaceResponse => ({ status: 200, body });

const CRYPTO_SEGMENTS: Record<string, CryptoOperation> = {
  encrypt: "encrypt",
  decrypt: "decrypt",
  wrapkey: "wrapKey",
  unwrapkey: "unwrapKey",
  sign: "sign",
  verify: "verify",
};

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw kvErrors.badParameter(`The request URI contains an invalid segment: ${s}`);
  }
}

/** Path → segments: leading and trailing slashes dropped, an inner empty segment kept (it is an empty version). */
export function pathSegments(path: string): string[] {
  const segs = path.split("/").map(decodeSegment);
  while (segs.length && segs[0] === "") segs.shift();
  while (segs.length && segs[segs.length - 1] === "") segs.pop();
  return segs;
}

function crypto(op: CryptoOperation, name: string, version: string): RouteMatch {
  return {
    op,
    name,
    async run({ svc, ctx, req }) {
      const body = parseJsonBody(req.body);
      const alg = requiredString(body, "alg");
      const value = decodeBase64Url(body.value, "value", { required: true, maxBytes: 4096 })!;
      const digest = op === "verify" ? decodeBase64Url(body.digest, "digest", { required: true, maxBytes: 512 }) : undefined;
      const out = await runCrypto(svc, ctx, op, name, version, { alg, value, ...(digest ? { digest } : {}) });
      if (op === "verify") return ok({ value: out.verified });
      return ok({ kid: keyId(ctx.origin, out.rec), value: encodeBase64Url(out.value!) });
    },
  };
}

function listing(op: "list" | "listDeleted", path: string): RouteMatch {
  return {
    op,
    async run({ svc, ctx, req, apiVersion }) {
      const max = parseMaxResults(req.query.get("maxresults"));
      const after = decodeSkipToken<string>(req.query.get("$skiptoken"), "string");
      const page = op === "list" ? await svc.list(ctx, after, max) : await svc.listDeleted(ctx, after, max);
      const value = page.items.map((r) => (op === "list" ? keyItem(ctx.origin, r, ctx.vault, false) : deletedKeyItem(ctx.origin, r, ctx.vault)));
      return ok({ value, nextLink: page.next !== undefined ? nextLink(ctx.origin, path, apiVersion, encodeSkipToken(page.next), max) : null });
    },
  };
}

/** Resolves method + path to an operation, or throws 404/405 in Key Vault's envelope. */
export function matchRoute(method: string, path: string): RouteMatch {
  const segs = pathSegments(path);
  const lower = segs.map((s) => s.toLowerCase());
  const bad = () => kvErrors.pathNotFound(method, path);
  const only = (allowed: Record<string, RouteMatch>): RouteMatch => {
    const r = allowed[method];
    if (!r) throw kvErrors.methodNotAllowed(method, path);
    return r;
  };

  if (lower[0] === "keys") {
    if (segs.length === 1) return only({ GET: listing("list", "/keys") });
    const name = segs[1]!;
    if (segs.length === 2) {
      if (lower[1] === "restore" && method === "POST") {
        return { op: "restore", run: async ({ svc, box, ctx, req }) => ok(keyBundle(ctx.origin, await restoreKey(svc, box, ctx, parseJsonBody(req.body)), ctx.vault)) };
      }
      return only({
        GET: { op: "get", name, run: async ({ svc, ctx }) => ok(keyBundle(ctx.origin, await svc.get(ctx, name), ctx.vault)) },
        PUT: { op: "import", name, run: async ({ svc, ctx, req }) => ok(keyBundle(ctx.origin, await svc.importKey(ctx, name, parseJsonBody(req.body)), ctx.vault)) },
        PATCH: { op: "update", name, run: async ({ svc, ctx, req }) => ok(keyBundle(ctx.origin, await svc.update(ctx, name, undefined, parseJsonBody(req.body)), ctx.vault)) },
        DELETE: { op: "delete", name, run: async ({ svc, ctx }) => ok(deletedKeyBundle(ctx.origin, await svc.remove(ctx, name), ctx.vault)) },
      });
    }
    if (segs.length === 3) {
      const third = lower[2]!;
      const cryptoOp = CRYPTO_SEGMENTS[third];
      if (cryptoOp && method === "POST") return crypto(cryptoOp, name, "");
      switch (third) {
        case "create":
          if (method === "POST") return { op: "create", name, run: async ({ svc, ctx, req }) => ok(keyBundle(ctx.origin, await svc.create(ctx, name, parseJsonBody(req.body)), ctx.vault)) };
          break;
        case "backup":
          if (method === "POST") return { op: "backup", name, run: async ({ svc, box, ctx }) => ok({ value: await backupKey(svc, box, ctx, name) }) };
          break;
        case "rotate":
          if (method === "POST") return { op: "rotate", name, run: async ({ svc, ctx }) => ok(keyBundle(ctx.origin, await svc.rotate(ctx, name), ctx.vault)) };
          break;
        case "versions":
          if (method === "GET") {
            return {
              op: "list",
              name,
              async run({ svc, ctx, req, apiVersion }) {
                const max = parseMaxResults(req.query.get("maxresults"));
                const after = decodeSkipToken<number>(req.query.get("$skiptoken"), "number");
                const page = await svc.listVersions(ctx, name, after, max);
                const value = page.items.map((r) => keyItem(ctx.origin, r, ctx.vault, true));
                const link = page.next !== undefined ? nextLink(ctx.origin, `/keys/${page.items[0]!.name}/versions`, apiVersion, encodeSkipToken(page.next), max) : null;
                return ok({ value, nextLink: link });
              },
            };
          }
          break;
        case "rotationpolicy":
          if (method === "GET") {
            return { op: "getrotationpolicy", name, run: async ({ svc, ctx }) => { const p = await svc.getRotationPolicy(ctx, name); return ok(rotationPolicyBody(ctx.origin, p.name, p.policy)); } };
          }
          if (method === "PUT") {
            return { op: "setrotationpolicy", name, run: async ({ svc, ctx, req }) => { const p = await svc.setRotationPolicy(ctx, name, parseJsonBody(req.body)); return ok(rotationPolicyBody(ctx.origin, p.name, p.policy)); } };
          }
          break;
      }
      if (["create", "backup", "rotate", "versions", "rotationpolicy"].includes(third) || cryptoOp) throw kvErrors.methodNotAllowed(method, path);
      // `/keys/{name}/{version}`; an empty version (`/keys/k//`) was trimmed to the 2-segment form above.
      const version = segs[2]!;
      return only({
        GET: { op: "get", name, run: async ({ svc, ctx }) => ok(keyBundle(ctx.origin, await svc.get(ctx, name, version), ctx.vault)) },
        PATCH: { op: "update", name, run: async ({ svc, ctx, req }) => ok(keyBundle(ctx.origin, await svc.update(ctx, name, version, parseJsonBody(req.body)), ctx.vault)) },
      });
    }
    if (segs.length === 4) {
      const cryptoOp = CRYPTO_SEGMENTS[lower[3]!];
      if (!cryptoOp) throw bad();
      if (method !== "POST") throw kvErrors.methodNotAllowed(method, path);
      return crypto(cryptoOp, name, segs[2]!);
    }
    throw bad();
  }

  if (lower[0] === "deletedkeys") {
    if (segs.length === 1) return only({ GET: listing("listDeleted", "/deletedkeys") });
    const name = segs[1]!;
    if (segs.length === 2) {
      return only({
        GET: { op: "getDeleted", name, run: async ({ svc, ctx }) => ok(deletedKeyBundle(ctx.origin, await svc.getDeleted(ctx, name), ctx.vault)) },
        DELETE: { op: "purge", name, run: async ({ svc, ctx }) => { await svc.purge(ctx, name); return { status: 204 }; } },
      });
    }
    if (segs.length === 3 && lower[2] === "recover") {
      return only({ POST: { op: "recover", name, run: async ({ svc, ctx }) => ok(keyBundle(ctx.origin, await svc.recover(ctx, name), ctx.vault)) } });
    }
    throw bad();
  }

  if (lower[0] === "rng" && segs.length === 1) {
    return only({
      POST: {
        op: "rng",
        async run({ req }) {
          const body = parseJsonBody(req.body);
          const count = body.count;
          if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 128) throw kvErrors.badParameter("The parameter 'count' must be an integer between 1 and 128.");
          return ok({ value: encodeBase64Url(randomBytes(count)) });
        },
      },
    });
  }
  throw bad();
}

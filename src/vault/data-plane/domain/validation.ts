import { kvErrors } from "../errors.js";

/**
 * Input rules for the keys API, pure and shared by the HTTP routes and the in-process API. Every failure is
 * Key Vault's 400 BadParameter (keyvault.md §1.7 "bad input"), never a 500.
 */

/** `^[0-9a-zA-Z-]+$` (keyvault.md §1.1, SPEC76 key-name) and at most 127 characters. */
const KEY_NAME = /^[0-9a-zA-Z-]{1,127}$/;
export const isValidKeyName = (name: string): boolean => KEY_NAME.test(name);

export function checkKeyName(name: string): string {
  if (!isValidKeyName(name)) throw kvErrors.invalidName(name);
  return name;
}

/** Versions are 32 lower-case hex digits (keyvault.md §1.1); we accept either case on input. */
const VERSION = /^[0-9a-fA-F]{32}$/;
export const isWellFormedVersion = (v: string): boolean => VERSION.test(v);

/** base64url without padding on the wire (keyvault.md §1.1); trailing `=` is tolerated, `+` and `/` are not. */
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export function decodeBase64Url(value: unknown, field: string, opts: { required?: boolean; maxBytes?: number } = {}): Buffer | undefined {
  if (value === undefined || value === null) {
    if (opts.required) throw kvErrors.badParameter(`The parameter '${field}' is required.`);
    return undefined;
  }
  if (typeof value !== "string" || !B64URL.test(value) || value.replace(/=+$/, "").length % 4 === 1) {
    throw kvErrors.badParameter(`The parameter '${field}' is not a valid base64url-encoded value.`);
  }
  const buf = Buffer.from(value, "base64url");
  if (opts.required && buf.length === 0) throw kvErrors.badParameter(`The parameter '${field}' must not be empty.`);
  if (opts.maxBytes !== undefined && buf.length > opts.maxBytes) throw kvErrors.badParameter(`The parameter '${field}' is too long (${buf.length} bytes, at most ${opts.maxBytes}).`);
  return buf;
}

export const encodeBase64Url = (buf: Buffer | Uint8Array): string => Buffer.from(buf).toString("base64url");

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a JSON request body; an empty body is `{}` (the SDK's first, challenged request has none). */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw kvErrors.badParameter("The request body is not valid JSON.");
  }
  if (parsed === null) return {};
  if (!isObject(parsed)) throw kvErrors.badParameter("The request body must be a JSON object.");
  return parsed;
}

export function optionalString(obj: Record<string, unknown>, field: string): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw kvErrors.badParameter(`The parameter '${field}' must be a string.`);
  return v;
}

export function requiredString(obj: Record<string, unknown>, field: string): string {
  const v = optionalString(obj, field);
  if (v === undefined || v === "") throw kvErrors.badParameter(`The parameter '${field}' is required.`);
  return v;
}

export function optionalBoolean(obj: Record<string, unknown>, field: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw kvErrors.badParameter(`The parameter '${field}' must be a boolean.`);
  return v;
}

/** Unix seconds; clients send integers, one spec example shows a fraction (keyvault.md §1.1). */
export function optionalUnixTime(obj: Record<string, unknown>, field: string): number | null | undefined {
  const v = obj[field];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 253402300799) throw kvErrors.badParameter(`The parameter '${field}' must be a unix time in seconds.`);
  return Math.floor(v);
}

/** Key tags: at most 15, names and values up to 256 characters (keyvault.md §1.5, D-KEYS). */
export function parseTags(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw kvErrors.badParameter("The parameter 'tags' must be an object of strings.");
  const entries = Object.entries(v);
  if (entries.length > 15) throw kvErrors.badParameter("A key can have at most 15 tags.");
  const out: Record<string, string> = {};
  for (const [k, val] of entries) {
    if (typeof val !== "string") throw kvErrors.badParameter(`The value of tag '${k}' must be a string.`);
    if (k.length === 0 || k.length > 256 || val.length > 256) throw kvErrors.badParameter("Tag names must be 1-256 characters and tag values at most 256 characters.");
    out[k] = val;
  }
  return out;
}

/** JsonWebKeyOperation (keyvault.md §1.4). Stored in Key Vault's casing whatever the client sent. */
export const KEY_OPERATIONS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"] as const;
export type JsonWebKeyOperation = (typeof KEY_OPERATIONS)[number];

export function parseKeyOps(v: unknown): JsonWebKeyOperation[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw kvErrors.badParameter("The parameter 'key_ops' must be an array of strings.");
  const out: JsonWebKeyOperation[] = [];
  for (const op of v) {
    const known = typeof op === "string" ? KEY_OPERATIONS.find((k) => k.toLowerCase() === op.toLowerCase()) : undefined;
    if (!known) throw kvErrors.badParameter(`Invalid key operation '${String(op)}'. Allowed: ${KEY_OPERATIONS.join(", ")}.`);
    if (!out.includes(known)) out.push(known);
  }
  return out;
}

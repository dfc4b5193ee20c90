import { randomBytes, randomUUID } from "node:crypto";

export const newGuid = (): string => randomUUID();

/** 32 lower-case hex digits, the shape Key Vault uses for key versions. */
export const newHexId = (bytes = 16): string => randomBytes(bytes).toString("hex");

/** A URL-safe random secret (client secrets, identity header). */
export const newSecret = (bytes = 30): string => randomBytes(bytes).toString("base64url");

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGuid = (s: string): boolean => GUID.test(s);

/** Weak ETag in the quoted form ARM uses. */
export const newEtag = (): string => `"${randomBytes(8).toString("hex")}"`;

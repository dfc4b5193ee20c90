import { ArmError, armErrors } from "../domain/errors.js";

/** Helpers shared by providers of tracked resources (location + tags at the top level). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function requireObjectBody(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw armErrors.invalidRequestContent("the request body must be a JSON object");
  return body;
}

export function normalizeLocation(location: unknown): string {
  if (typeof location !== "string" || !location.trim()) throw armErrors.locationRequired();
  return location.replace(/\s+/g, "").toLowerCase();
}

export function readTags(tags: unknown): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (!isObject(tags) || Object.values(tags).some((v) => typeof v !== "string")) throw armErrors.invalidRequestContent("tags must be an object of strings");
  return tags as Record<string, string>;
}

/** A tracked resource keeps the location it was created in (ARM's InvalidResourceLocation). */
export function checkLocationUnchanged(existing: string | undefined, requested: string, name: string, rg: string): void {
  if (existing && existing !== requested) {
    throw new ArmError(
      400,
      "InvalidResourceLocation",
      `The resource '${name}' already exists in location '${existing}' in resource group '${rg}'. A resource with the same name cannot be created in location '${requested}'. Please select a new resource name.`,
    );
  }
}

import { kvErrors } from "../errors.js";
import { isObject } from "./validation.js";

/**
 * Key rotation policies (keyvault.md §1.3 KeyRotationPolicy, §1.5 Rotation): ISO-8601 durations, at most
 * one Rotate and one Notify action, `expiryTime` at least 28 days. Auto-rotation (a background job in Azure)
 * is not run by tdekv; `rotate` and the policy's `expiryTime` on new versions are.
 */
export interface LifetimeAction {
  trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string };
  action: { type: "Rotate" | "Notify" };
}

export interface RotationPolicy {
  lifetimeActions: LifetimeAction[];
  expiryTime?: string;
  createdAt?: number;
  updatedAt?: number;
}

/** Key Vault's answer for a key that never had a policy set. */
export const DEFAULT_ROTATION_POLICY: RotationPolicy = {
  lifetimeActions: [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }],
};

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Seconds in an ISO-8601 duration (years as 365 days, months as 30), or undefined when malformed. */
export function durationSeconds(text: string): number | undefined {
  const m = DURATION.exec(text.toUpperCase());
  if (!m) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  return ((n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4)) * 24 + n(5)) * 3600 + n(6) * 60 + n(7);
}

const MIN_EXPIRY_SECONDS = 28 * 86_400;

function duration(v: unknown, field: string): string {
  if (typeof v !== "string" || durationSeconds(v) === undefined) throw kvErrors.badParameter(`'${field}' must be an ISO 8601 duration such as P90D.`);
  return v.toUpperCase();
}

export function parseRotationPolicy(body: Record<string, unknown>): Omit<RotationPolicy, "createdAt" | "updatedAt"> {
  const raw = body.lifetimeActions ?? [];
  if (!Array.isArray(raw)) throw kvErrors.badParameter("'lifetimeActions' must be an array.");
  const lifetimeActions: LifetimeAction[] = [];
  for (const item of raw) {
    if (!isObject(item) || !isObject(item.trigger) || !isObject(item.action)) throw kvErrors.badParameter("Each lifetime action needs a 'trigger' and an 'action'.");
    const type = typeof item.action.type === "string" ? item.action.type.toLowerCase() : "";
    if (type !== "rotate" && type !== "notify") throw kvErrors.badParameter("A lifetime action's type must be 'Rotate' or 'Notify'.");
    const { timeAfterCreate, timeBeforeExpiry } = item.trigger;
    if ((timeAfterCreate === undefined || timeAfterCreate === null) === (timeBeforeExpiry === undefined || timeBeforeExpiry === null)) {
      throw kvErrors.badParameter("A lifetime action's trigger needs exactly one of 'timeAfterCreate' and 'timeBeforeExpiry'.");
    }
    const trigger = timeAfterCreate != null ? { timeAfterCreate: duration(timeAfterCreate, "timeAfterCreate") } : { timeBeforeExpiry: duration(timeBeforeExpiry, "timeBeforeExpiry") };
    const canonical = type === "rotate" ? "Rotate" : "Notify";
    if (lifetimeActions.some((a) => a.action.type === canonical)) throw kvErrors.badParameter(`A rotation policy can have only one '${canonical}' action.`);
    lifetimeActions.push({ trigger, action: { type: canonical } });
  }
  const attributes = body.attributes;
  if (attributes !== undefined && attributes !== null && !isObject(attributes)) throw kvErrors.badParameter("'attributes' must be an object.");
  const expiryRaw = isObject(attributes) ? attributes.expiryTime : undefined;
  const policy: Omit<RotationPolicy, "createdAt" | "updatedAt"> = { lifetimeActions };
  if (expiryRaw !== undefined && expiryRaw !== null) {
    policy.expiryTime = duration(expiryRaw, "expiryTime");
    if (durationSeconds(policy.expiryTime)! < MIN_EXPIRY_SECONDS) throw kvErrors.badParameter("'expiryTime' must be at least 28 days (P28D).");
  }
  return policy;
}

import { kvErrors } from "../errors.js";
import type { JsonWebKeyOperation } from "./validation.js";

/**
 * Per-key rules that apply after authorization (keyvault.md §1.5):
 * - a disabled key refuses every operation that uses or reveals it: get and all six crypto operations.
 *   (python#45342 saw encrypt/verify/wrapKey pass, most likely because its client ran them locally; the
 *   service itself refuses them, so we refuse them server-side.) Update, delete, backup and listing stay
 *   possible, or nobody could re-enable or clean up a key.
 * - `key_ops` limits the crypto operations (403 KeyOperationForbidden).
 * - outside the nbf/exp window, encrypt, wrapKey and sign are refused; decrypt, unwrapKey and verify keep
 *   working so data protected earlier stays readable (D-KEYS "Date-time controlled operations").
 */
export type KeyUse = "get" | "encrypt" | "decrypt" | "wrapKey" | "unwrapKey" | "sign" | "verify";

const DATE_CONTROLLED: ReadonlySet<KeyUse> = new Set(["encrypt", "wrapKey", "sign"]);

export interface KeyStateView {
  name: string;
  enabled: boolean;
  nbfAt: number | null;
  expAt: number | null;
  keyOps: readonly JsonWebKeyOperation[];
}

export function checkKeyUse(key: KeyStateView, use: KeyUse, nowMs: number): void {
  if (!key.enabled) throw kvErrors.keyDisabled(use, key.name);
  if (use === "get") return;
  if (!key.keyOps.includes(use)) throw kvErrors.operationNotPermitted(use, key.name);
  if (DATE_CONTROLLED.has(use)) {
    if (key.nbfAt !== null && nowMs < key.nbfAt) throw kvErrors.keyNotYetValid(use, key.name);
    if (key.expAt !== null && nowMs >= key.expAt) throw kvErrors.keyExpired(use, key.name);
  }
}

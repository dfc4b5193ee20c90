import { DomainError } from "../../platform/index.js";

/**
 * A token request that Entra ID refuses. `aadsts` is the AADSTS number and `error` the OAuth error code;
 * the Entra surface renders both, with Entra's message text (az-cli-compat.md §5.2).
 */
export class EntraError extends DomainError {
  readonly kind = "entra";
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    message: string,
  ) {
    super(message);
  }
}

export type TokenRejection =
  | "missing"
  | "malformed"
  | "signature"
  | "expired"
  | "not-yet-valid"
  | "audience"
  | "issuer";

/** An access token that a surface must refuse. Each surface maps `reason` to its own 401 code. */
export class TokenRejected extends DomainError {
  readonly kind = "token-rejected";
  constructor(
    readonly reason: TokenRejection,
    message: string,
    /** Extra facts for the surface's message (expiry time, audience seen), never the token itself. */
    readonly detail: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A managed-identity token request that cannot be served (wrong header, unknown identity). */
export class ManagedIdentityError extends DomainError {
  readonly kind = "managed-identity";
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

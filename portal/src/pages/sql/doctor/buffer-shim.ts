/**
 * facts.ts measures an RSA modulus with `Buffer.from(n, "base64url")` (n[0], n.length). Browsers have no
 * Buffer; this minimal stand-in answers exactly that call and is only installed when Buffer is absent.
 */
const g = globalThis as { Buffer?: unknown };
if (!g.Buffer) {
  g.Buffer = {
    from(s: string): Uint8Array {
      const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
      const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
      return Uint8Array.from(bin, (c) => c.charCodeAt(0));
    },
  };
}

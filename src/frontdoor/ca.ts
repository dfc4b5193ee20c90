import fs from "node:fs";
import path from "node:path";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/**
 * The local certificate authority. Made on first start and kept in the data dir, so a CA a user trusted
 * once (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE) stays valid across restarts. The leaf that the one TLS
 * listener presents is re-issued at every start from this CA, covering every host name tdekv serves in
 * direct mode and in proxy mode (issue 2 §3).
 */
export interface TlsMaterial {
  caCertFile: string;
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

const RSA: RsaHashedKeyGenParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const DAY = 86_400_000;

/** Host names of the real Azure services that the proxy terminates (az-cli-compat.md §0). */
export const AZURE_PROXY_NAMES = ["management.azure.com", "login.microsoftonline.com", "graph.microsoft.com", "*.vault.azure.net", "*.database.windows.net"];

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function importPkcs8(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  return webcrypto.subtle.importKey("pkcs8", der, RSA, true, ["sign"]) as Promise<CryptoKey>;
}

async function createCa(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=tdekv local CA ${new Date(now).toISOString().slice(0, 10)}, O=tdekv`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    keys,
    signingAlgorithm: RSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  fs.writeFileSync(path.join(dir, "ca-key.pem"), pemKey(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "ca.pem"), cert.toString("pem") + "\n");
  return { cert, key: keys.privateKey };
}

async function loadOrCreateCa(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const certFile = path.join(dir, "ca.pem");
  const keyFile = path.join(dir, "ca-key.pem");
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const cert = new x509.X509Certificate(fs.readFileSync(certFile, "utf8"));
    if (cert.notAfter.getTime() > Date.now() + 30 * DAY) return { cert, key: await importPkcs8(fs.readFileSync(keyFile, "utf8")) };
  }
  return createCa(dir);
}

export async function prepareTls(dir: string, extraNames: string[]): Promise<TlsMaterial> {
  fs.mkdirSync(dir, { recursive: true });
  const ca = await loadOrCreateCa(dir);
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ["sign", "verify"])) as CryptoKeyPair;
  // `*.secondary.database.windows.net`: failover groups' read-only listeners, which TLS clients verify too.
  const dns = new Set(["localhost", "*.localhost", "*.vault.localhost", "*.database.localhost", ...AZURE_PROXY_NAMES, "*.secondary.database.windows.net"]);
  const ips = new Set(["127.0.0.1", "::1"]);
  for (const n of extraNames) (/^[\d.]+$|:/.test(n) ? ips : dns).add(n);
  const now = Date.now();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1"),
    subject: "CN=tdekv, O=tdekv",
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY),
    // 397 days: the longest validity browsers accept for a server certificate.
    notAfter: new Date(now + 397 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: RSA,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...[...dns].map((value) => ({ type: "dns" as const, value })),
        ...[...ips].map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  const caCertPem = ca.cert.toString("pem") + "\n";
  return {
    caCertFile: path.join(dir, "ca.pem"),
    caCertPem,
    // The chain lets clients that were given only the CA build the path.
    certPem: leaf.toString("pem") + "\n",
    keyPem: pemKey(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
  };
}

import fs from "node:fs";
import path from "node:path";
import { run, tempDir, type Instance } from "./harness.js";

/**
 * Drives the real Debian az 2.45 in proxy mode (az-cli-compat.md §0): the built-in AzureCloud, every HTTPS
 * request tunnelled through tdekv's proxy, tdekv's CA trusted through REQUESTS_CA_BUNDLE, a fresh config dir.
 */
export interface Az {
  (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; json: any }>;
  env: Record<string, string>;
}

export function azCli(inst: Instance, extraEnv: Record<string, string> = {}): Az {
  const configDir = tempDir("azcfg");
  const env: Record<string, string> = {
    AZURE_CONFIG_DIR: configDir,
    AZURE_CORE_COLLECT_TELEMETRY: "false",
    AZURE_CORE_NO_COLOR: "true",
    AZURE_CORE_ONLY_SHOW_ERRORS: "true",
    REQUESTS_CA_BUNDLE: inst.endpoints.caCertFile,
    HTTPS_PROXY: inst.endpoints.proxyUrl,
    ...extraEnv,
  };
  const az = (async (...args: string[]) => {
    const res = await run("az", args, env);
    let json: unknown;
    try {
      json = res.stdout.trim() ? JSON.parse(res.stdout) : undefined;
    } catch {
      json = undefined;
    }
    return { ...res, json };
  }) as Az;
  az.env = env;
  return az;
}

export const azAvailable = (): boolean => fs.existsSync("/usr/bin/az") || (process.env.PATH ?? "").split(":").some((d) => fs.existsSync(path.join(d, "az")));

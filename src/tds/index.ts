import type { Logger } from "../platform/index.js";
import type { TlsMaterial } from "../frontdoor/index.js";

export interface TdsDeps {
  host: string;
  port: number;
  tls: TlsMaterial;
  log: Logger;
}

export interface RunningTds {
  port: number;
  stop(): Promise<void>;
}

/** Stub: the TDS endpoint is being built (issue 8). */
export async function startTds(deps: TdsDeps): Promise<RunningTds> {
  void deps;
  return { port: 0, async stop() {} };
}

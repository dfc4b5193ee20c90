import fs from "node:fs";
import readline from "node:readline";
import type { Command } from "commander";
import { resolveDataDir } from "../platform/index.js";
import { AzureRest, type Connection, type Credentials, DoctorError, applyFixes, describeFix, plannedFixes, renderReport, runDoctor } from "../doctor/index.js";
import { readEndpoints } from "./instance.js";

/**
 * `tdekv doctor`: argument parsing and output only; the checks live in src/doctor. It finds the instance the
 * way every CLI command does (--data-dir / TDEKV_DATA_DIR, endpoints.json) and calls Azure's APIs as the
 * principal in AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET when they are set (after a subscription
 * moved to another tenant, that tenant's principal), else as the instance's own service principal.
 */

export interface ConnectOptions {
  dataDir?: string;
}

/** Explicit environment credentials, when all three are set. */
function envCredentials(env: NodeJS.ProcessEnv): Credentials | undefined {
  const { AZURE_TENANT_ID: tenantId, AZURE_CLIENT_ID: clientId, AZURE_CLIENT_SECRET: clientSecret } = env;
  return tenantId && clientId && clientSecret ? { tenantId, clientId, clientSecret } : undefined;
}

export async function connect(o: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Promise<{ client: AzureRest; defaultSubscriptionId: string; dataDir: string }> {
  const ep = readEndpoints(resolveDataDir(o.dataDir));
  const admin: Credentials = { tenantId: ep.tenantId, clientId: ep.clientId, clientSecret: ep.clientSecret };
  const base: Connection = { baseUrl: ep.armEndpoint, ca: fs.readFileSync(ep.caCertFile), credentials: admin, admin };
  let client = new AzureRest(base);
  const fromEnv = envCredentials(env);
  if (fromEnv && fromEnv.clientId !== admin.clientId) {
    const candidate = client.as(fromEnv);
    try {
      await candidate.token("https://management.azure.com/.default");
      client = candidate;
    } catch {
      // Not a principal of this tdekv (e.g. real Azure credentials in the environment): use the instance's own.
    }
  }
  return { client, defaultSubscriptionId: client.tenantId === ep.tenantId ? ep.subscriptionId : "", dataDir: ep.dataDir };
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

interface DoctorFlags {
  server?: string;
  managedInstance?: string;
  resourceGroup?: string;
  json?: boolean;
  fix?: boolean;
  yes?: boolean;
  dataDir?: string;
}

async function doctor(o: DoctorFlags): Promise<void> {
  if (o.server && o.managedInstance) throw new DoctorError("give --server or --managed-instance, not both");
  const { client, defaultSubscriptionId } = await connect(o);
  const opts = { server: o.server, managedInstance: o.managedInstance, resourceGroup: o.resourceGroup, ...(defaultSubscriptionId ? { defaultSubscriptionId } : {}) };
  const before = await runDoctor(client, opts);
  if (!o.fix) {
    process.stdout.write(o.json ? JSON.stringify(before, null, 2) + "\n" : renderReport(before));
    process.exitCode = before.ok ? 0 : 1;
    return;
  }
  const fixes = plannedFixes(before);
  if (!o.json) process.stdout.write(renderReport(before));
  if (!fixes.length) {
    if (!o.json) process.stdout.write(before.ok ? "Nothing to fix.\n" : "None of these problems has a safe automatic fix: run the mitigation commands above.\n");
    else process.stdout.write(JSON.stringify({ before, applied: [], after: before }, null, 2) + "\n");
    process.exitCode = before.ok ? 0 : 1;
    return;
  }
  process.stderr.write(`\ntdekv doctor --fix will:\n${fixes.map((f) => `  - ${describeFix(f)}`).join("\n")}\n`);
  if (!o.yes && !(await confirm("Apply these changes? [y/N] "))) {
    process.stderr.write("Nothing changed.\n");
    if (o.json) process.stdout.write(JSON.stringify({ before, applied: [], after: before }, null, 2) + "\n");
    process.exitCode = 1;
    return;
  }
  const applied = await applyFixes(client, fixes);
  const after = await runDoctor(client, opts);
  if (o.json) {
    process.stdout.write(JSON.stringify({ before, applied, after }, null, 2) + "\n");
  } else {
    process.stdout.write(`\nDone:\n${applied.map((a) => `  - ${a}`).join("\n")}\n\nAfter the fixes:\n\n${renderReport(after)}`);
  }
  process.exitCode = after.ok ? 0 : 1;
}

export function registerDoctor(program: Command, dataDirOption: string): void {
  program
    .command("doctor")
    .description("run the seed's detection steps against a running tdekv: what breaks key access, its seed error code, the evidence, and the az commands that fix it")
    .option("--server <name>", "check one logical server")
    .option("--managed-instance <name>", "check one managed instance")
    .option("--resource-group <name>", "only servers in this resource group")
    .option("--json", "print the report as JSON")
    .option("--fix", "apply the safe mitigations (assign an identity, add the missing key permissions, allow trusted services) after confirmation")
    .option("--yes", "with --fix: do not ask for confirmation")
    .option("--data-dir <dir>", dataDirOption)
    .action(async (o: DoctorFlags) => {
      try {
        await doctor(o);
      } catch (err) {
        process.stderr.write(`tdekv doctor: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}

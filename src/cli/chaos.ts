import { type Command, InvalidArgumentError } from "commander";
import { CHAOS_CAUSES, ChaosJournal, FAULT_COMMANDS, SEED_ERRORS, runChaos, undoChaos, type ChaosCause, type FaultCommand } from "../doctor/index.js";
import { connect } from "./doctor.js";

/**
 * `tdekv chaos <cause> [target]`: break key access the way the seed says it breaks, with the real operation
 * (or, for a network error, tdekv's fault injection), journaled in `<data-dir>/chaos-journal.json`;
 * `tdekv chaos --undo` reverses everything journaled, newest first. `tdekv chaos clear [vault]` removes
 * injected faults only. Chaos acts as the instance's own service principal (endpoints.json).
 */

const HELP = `
Causes (the seed's "Common errors causing databases to become inaccessible"):
${CHAOS_CAUSES.map((c) => `  ${c.padEnd(30)} ${(SEED_ERRORS as Record<string, { status: number; code: string }>)[c]!.status} ${(SEED_ERRORS as Record<string, { code: string }>)[c]!.code}`).join("\n")}
Faults between SQL and Key Vault (no Azure operation causes them):
  vault-unreachable <vault>      the vault cannot be reached (network error)
  vault-slow <vault>             the vault answers slower than the SQL-to-vault timeout (--delay)
  vault-5xx <vault>              the vault answers 503
  vault-intermittent <vault>     calls fail at random (--rate)
  clear [vault]                  remove injected faults (all, or one vault's); not journaled

[target] is a server or managed instance name (or, for vault causes, a vault name); without it, the only
server that uses a customer-managed key. Examples:
  tdekv chaos key-disabled tde-sql
  tdekv chaos permissions-revoked
  tdekv chaos --undo
`;

interface ChaosFlags {
  undo?: boolean;
  rate?: string;
  delay?: string;
  json?: boolean;
  dataDir?: string;
}

const rateArg = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError("must be between 0 and 1");
  return v;
};

async function chaos(cause: string | undefined, target: string | undefined, o: ChaosFlags): Promise<void> {
  const { client, dataDir } = await connect(o, {});
  const journal = new ChaosJournal(dataDir);
  const out = (text: string, data: unknown): void => void process.stdout.write(o.json ? JSON.stringify(data, null, 2) + "\n" : text);
  if (o.undo) {
    if (cause) throw new InvalidArgumentError("--undo takes no cause: it reverses everything in the journal");
    const entries = journal.read();
    if (!entries.length) return out("Nothing to undo: the chaos journal is empty.\n", { undone: [], left: [] });
    const r = await undoChaos(client, journal);
    return out(r.undone.map((u) => `undid ${u.cause}:\n${u.did.map((d) => `  - ${d}`).join("\n")}\n`).join(""), r);
  }
  if (!cause) {
    const entries = journal.read();
    return out(entries.length ? `In effect (tdekv chaos --undo reverses them, newest first):\n${entries.map((e) => `  ${e.at}  ${e.cause.padEnd(28)} ${e.summary}`).join("\n")}\n` : `No chaos in effect.\n${HELP}`, { entries });
  }
  if (cause === "clear") {
    const body = await client.tdekv("DELETE", target ? `/_tdekv/chaos/faults/${encodeURIComponent(target.toLowerCase())}` : "/_tdekv/chaos/faults");
    // Journal entries whose only undo was clearing this fault are done.
    for (const e of journal.read()) if (e.undo.every((u) => u.kind === "clear-fault" && (!target || u.vault === target.toLowerCase()))) journal.remove(e.id);
    return out(JSON.stringify(body, null, 2) + "\n", body);
  }
  if (!(CHAOS_CAUSES as readonly string[]).includes(cause) && !(cause in FAULT_COMMANDS)) throw new InvalidArgumentError(`unknown cause '${cause}'.\n${HELP}`);
  const r = await runChaos(client, journal, cause as ChaosCause | FaultCommand, target, { ...(o.rate !== undefined ? { rate: Number(o.rate) } : {}), ...(o.delay ? { delay: o.delay } : {}) });
  out(
    [
      `tdekv chaos ${cause}: ${r.entry.summary}`,
      ...r.az.map((a, i) => `  ${i === 0 ? "the same with az:" : "                 "} ${a}`),
      `  expect: ${r.expect}`,
      ...r.notes.map((n) => `  note: ${n}`),
      "  diagnose: tdekv doctor        undo: tdekv chaos --undo",
      "",
    ].join("\n"),
    r,
  );
}

export function registerChaos(program: Command, dataDirOption: string): void {
  program
    .command("chaos [cause] [target]")
    .description("break key access as the seed describes (real operations; fault injection for network errors), and undo it")
    .option("--undo", "reverse everything tdekv chaos did (the journal), newest first")
    .option("--delay <duration>", "vault-slow: added latency", "10s")
    .option("--rate <0-1>", "vault-intermittent: failure probability per call", rateArg)
    .option("--json", "print what was done as JSON")
    .option("--data-dir <dir>", dataDirOption)
    .addHelpText("after", HELP)
    .action(async (cause: string | undefined, target: string | undefined, o: ChaosFlags) => {
      try {
        await chaos(cause, target, { ...o, ...(cause === "vault-slow" ? {} : { delay: undefined }), ...(cause === "vault-intermittent" && o.rate === undefined ? { rate: "0.5" } : {}) });
      } catch (err) {
        process.stderr.write(`tdekv chaos: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}

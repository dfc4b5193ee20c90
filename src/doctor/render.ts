import { formatDuration } from "./checks.js";
import type { Diagnosis, DoctorReport, FixAction, Problem } from "./types.js";

/** The doctor's report as text: the checks, then each problem with everything needed to fix it. */

const MARK = { ok: "ok  ", problem: "FAIL", warning: "warn", skipped: "skip" } as const;

export function describeFix(f: FixAction): string {
  switch (f.kind) {
    case "assign-identity":
      return `assign a system-assigned identity to ${f.serverId.split("/").pop()}`;
    case "grant-key-permissions":
      return `grant ${f.objectId ?? "the server's (new) identity"} get, wrapKey and unwrapKey on ${f.vaultId.split("/").pop()} (${f.model === "rbac" ? "role Key Vault Crypto Service Encryption User" : "access policy"})`;
    case "allow-trusted-services":
      return `allow trusted Microsoft services through the firewall of ${f.vaultId.split("/").pop()}`;
  }
}

function indent(label: string, lines: string[], width = 14): string[] {
  return lines.map((l, i) => `    ${(i === 0 ? label : "").padEnd(width)}${l}`);
}

function problemText(p: Problem, i: number, n: number): string[] {
  const code = `${p.status ? `${p.status} ` : ""}${p.code} - ${p.message}`;
  const out = [p.cause === "healing" || p.cause === "revalidation-needed" ? `  Problem ${i + 1} of ${n}: still Inaccessible (access was lost with ${code})` : `  Problem ${i + 1} of ${n}: ${code}`];
  out.push(...indent("cause", [`${p.cause}: ${p.summary}`]));
  out.push(...indent("seed", [p.seed]));
  out.push(...indent("evidence", p.evidence));
  const dbs = p.databases.map((d) =>
    d.status === "Inaccessible"
      ? `${d.name}  Inaccessible${d.lostAt ? ` since ${d.lostAt}` : ""}${d.windowClosed ? "  (auto-heal window closed)" : d.windowLeftMs !== undefined ? `  (${formatDuration(d.windowLeftMs)} left in the auto-heal window)` : ""}`
      : `${d.name}  ${d.status}`,
  );
  out.push(...indent("databases", dbs.length ? dbs : ["none"]));
  out.push(...indent("mitigation", p.mitigation.flatMap((m) => [m.command, ...(m.note ? [`  # ${m.note}`] : [])])));
  out.push(...indent("revalidation", [p.revalidation.detail, ...(p.revalidation.needed || p.databases.some((d) => d.status === "Inaccessible") ? [p.revalidation.command] : [])]));
  if (p.fixes.length) out.push(...indent("--fix", p.fixes.map(describeFix)));
  return out;
}

export function renderDiagnosis(d: Diagnosis): string {
  const kind = d.server.managed ? "managed instance" : "server";
  const lines = [`${kind} ${d.server.name} (resource group ${d.server.resourceGroup}, subscription ${d.server.subscriptionId})`];
  const w = Math.max(...d.checks.map((c) => c.title.length));
  for (const c of d.checks) {
    lines.push(`  ${MARK[c.status]}  ${c.title.padEnd(w)}  ${c.detail}`);
    if (c.detect && c.status !== "ok") lines.push(`        ${"".padEnd(w)}  detect: ${c.detect}`);
  }
  d.problems.forEach((p, i) => {
    lines.push("");
    lines.push(...problemText(p, i, d.problems.length));
  });
  return lines.join("\n");
}

export function renderReport(r: DoctorReport): string {
  const parts = [`tdekv doctor: tenant ${r.tenantId}, tdekv time ${r.now}, auto-heal window ${formatDuration(r.windowSeconds * 1000)}`, ""];
  for (const d of r.servers) parts.push(renderDiagnosis(d), "");
  const problems = r.servers.reduce((n, d) => n + d.problems.length, 0);
  const fixable = r.servers.some((d) => d.problems.some((p) => p.fixes.length));
  if (!r.servers.length) parts.push(`No servers or managed instances found.${r.hint ? ` ${r.hint}` : ""}`);
  else if (problems === 0) parts.push(`Clean bill of health: ${r.servers.length} ${r.servers.length === 1 ? "server" : "servers"} checked, no key-access problem.`);
  else parts.push(`${problems} ${problems === 1 ? "problem" : "problems"} on ${r.servers.filter((d) => d.problems.length).length} of ${r.servers.length} ${r.servers.length === 1 ? "server" : "servers"}.${fixable ? " `tdekv doctor --fix` applies the mitigations marked --fix." : ""}`);
  return parts.join("\n") + "\n";
}

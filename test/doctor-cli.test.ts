import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Rehearsal } from "./scenarios/scenario-kit.js";
import type { DoctorReport, Problem } from "../src/doctor/index.js";

/**
 * `tdekv doctor --fix`, RBAC vaults, managed instances, user-assigned identities, stacked chaos and its undo,
 * and the fault commands, through the CLI only (no az: the scenarios cover az).
 */
let r: Rehearsal;
before(async () => {
  r = await Rehearsal.start({ az: false });
});
after(async () => {
  await r?.inst.stop();
});

const problemsOf = (report: DoctorReport): Problem[] => report.servers.flatMap((d) => d.problems);

async function online(dbId: string) {
  await r.probe();
  await r.probe();
  assert.equal(await r.dbStatus(dbId), "Online");
}

describe("doctor --fix", () => {
  test("asks first, changes nothing on 'n', then assigns an identity, grants it and allows trusted services on --yes", async () => {
    const s = await r.setupRest("fix");
    await r.chaos("identity-deleted", s.server);
    await r.chaos("firewall-no-trusted-services", s.server);
    await r.probe();
    assert.equal(await r.dbStatus(s.dbId), "Inaccessible");
    const before = await r.doctor(s.server);
    assert.deepEqual(problemsOf(before.report).map((p) => `${p.cause} ${p.code}`).sort(), ["firewall-no-trusted-services AzureKeyVaultConnectionFailed", "identity-deleted AzureKeyVaultNoServerIdentity"]);

    const no = await r.tdekv(["doctor", "--server", s.server, "--fix"], {}, "n\n");
    assert.equal(no.code, 1);
    assert.match(no.stderr, /tdekv doctor --fix will:\n {2}- assign a system-assigned identity to sql-fix\n {2}- grant the server's \(new\) identity get, wrapKey and unwrapKey on kv-fix \(access policy\)\n {2}- allow trusted Microsoft services through the firewall of kv-fix\nApply these changes\? \[y\/N\] Nothing changed\./);
    assert.equal((await r.doctor(s.server)).report.servers[0]!.problems.length, 2, "nothing changed");

    const yes = await r.tdekv(["doctor", "--server", s.server, "--fix", "--yes", "--json"]);
    assert.equal(yes.code, 1, "the databases are still Inaccessible until the next probes");
    const applied = yes.json.applied as string[];
    assert.equal(applied.length, 3);
    assert.match(applied[0]!, /^assigned a system-assigned identity to sql-fix: principal [0-9a-f-]{36} {3}\(az sql server update -g tde-rg -n sql-fix --assign_identity\)$/);
    assert.match(applied[1]!, /^granted [0-9a-f-]{36} get, wrapKey and unwrapKey on kv-fix/);
    assert.match(applied[2]!, /^allowed trusted Microsoft services through the firewall of kv-fix/);
    assert.deepEqual(problemsOf(yes.json.after).map((p) => p.cause), ["healing"]);
    await online(s.dbId);
    assert.equal((await r.doctor(s.server)).code, 0);
    // The journal still holds both causes; undo must cope with a configuration that was fixed meanwhile.
    const undo = await r.chaos("--undo");
    assert.match(undo.stdout, /undid firewall-no-trusted-services/);
    assert.match(undo.stdout, /undid identity-deleted/);
    await online(s.dbId);
    assert.equal((await r.doctor(s.server)).code, 0);
  });
});

describe("Azure RBAC vaults", () => {
  test("permissions-insufficient then permissions-revoked: doctor reads role assignments and --fix assigns the Crypto Service Encryption User role", async () => {
    const s = await r.setupRest("rbac", { rbac: true });
    assert.equal((await r.doctor(s.server)).code, 0);
    await r.chaos("permissions-insufficient", s.server);
    await r.probe();
    let p = problemsOf((await r.doctor(s.server)).report)[0]!;
    assert.equal(p.cause, "permissions-insufficient");
    assert.equal(p.code, "AzureKeyVaultMissingPermissions");
    assert.ok(p.evidence.some((e) => /role 'Key Vault Reader' at scope .*kv-rbac \(grants get\)/.test(e)), p.evidence.join("\n"));
    assert.ok(p.evidence.some((e) => /missing wrapKey, unwrapKey \(Azure RBAC\)/.test(e)));
    assert.equal(p.mitigation[0]!.command, `az role assignment create --role "Key Vault Crypto Service Encryption User" --assignee-object-id ${s.principal} --assignee-principal-type ServicePrincipal --scope ${s.vaultId}`);
    await r.chaos("--undo");
    await online(s.dbId);

    await r.chaos("permissions-revoked", s.server);
    await r.probe();
    p = problemsOf((await r.doctor(s.server)).report)[0]!;
    assert.equal(p.cause, "permissions-revoked");
    assert.ok(p.evidence.some((e) => /no role assignment for object id/.test(e)));
    const fixed = await r.tdekv(["doctor", "--server", s.server, "--fix", "--yes"]);
    assert.match(fixed.stdout, /assigned 'Key Vault Crypto Service Encryption User' to [0-9a-f-]{36} on kv-rbac/);
    await online(s.dbId);
    await r.chaos("--undo");
    await online(s.dbId);
    assert.equal((await r.doctor(s.server)).code, 0);
  });
});

describe("managed instances and user-assigned identities", () => {
  test("a managed instance: --managed-instance, MakeManagedDbInaccessible in the window, the managed-instance revalidate URL", async () => {
    const s = await r.setupRest("mi", { managed: true });
    await r.chaos("key-disabled", s.server);
    await r.probe();
    const res = await r.tdekv(["doctor", "--managed-instance", s.server, "--json"]);
    assert.equal(res.code, 1);
    const d = (res.json as DoctorReport).servers[0]!;
    assert.equal(d.server.managed, true);
    const p = d.problems[0]!;
    assert.equal(p.code, "AzureKeyVaultKeyDisabled");
    assert.equal(p.databases[0]!.lostAt !== undefined, true, "the loss time comes from the managed event");
    assert.equal(p.databases[0]!.windowLeftMs, 30 * 60_000);
    assert.match(p.revalidation.command, /managedInstances\/sql-mi\/encryptionProtector\/current\/revalidate/);
    await r.chaos("--undo");
    await online(s.dbId);
  });

  test("a deleted user-assigned identity: doctor names it; chaos --undo re-creates it and grants its new principal", async () => {
    const s = await r.setupRest("uami", { userAssigned: true });
    assert.equal((await r.doctor(s.server)).code, 0);
    const chaos = await r.chaos("identity-deleted", s.server);
    assert.match(chaos.stdout, /deleted the user-assigned identity uami-uami/);
    await r.probe();
    const p = problemsOf((await r.doctor(s.server)).report)[0]!;
    assert.equal(p.cause, "identity-deleted");
    assert.equal(p.code, "AzureKeyVaultNoServerIdentity");
    assert.match(p.evidence[0]!, /the primary user-assigned identity .*uami-uami does not exist any more/);
    assert.equal(p.mitigation[0]!.command, "az identity create -g tde-rg -n uami-uami");
    const undo = await r.chaos("--undo");
    assert.match(undo.stdout, /re-created user-assigned identity uami-uami/);
    await online(s.dbId);
    assert.equal((await r.doctor(s.server)).code, 0);
  });
});

describe("chaos: stacked causes, the journal, --undo, and the fault commands", () => {
  test("three causes at once: doctor lists each with its code; the journal lists them; --undo reverses all", async () => {
    const s = await r.setupRest("stack");
    await r.chaos("key-expired", s.server);
    await r.chaos("permissions-revoked", s.server);
    await r.chaos("network-error", s.server);
    const listed = await r.chaos();
    assert.match(listed.stdout, /key-expired[\s\S]*permissions-revoked[\s\S]*network-error/);
    await r.probe();
    const codes = problemsOf((await r.doctor(s.server)).report).map((p) => `${p.cause} ${p.status} ${p.code}`).sort();
    assert.deepEqual(codes, ["key-expired 400 AzureKeyVaultInvalidExpirationDate", "network-error 503 AzureKeyVaultConnectionFailed", "permissions-revoked 401 AzureKeyVaultMissingPermissions"]);
    const undo = await r.chaos("--undo", "--json");
    assert.deepEqual((undo.json.undone as { cause: string }[]).map((u) => u.cause), ["network-error", "permissions-revoked", "key-expired"]);
    assert.deepEqual(undo.json.left, []);
    await online(s.dbId);
    assert.equal((await r.doctor(s.server)).code, 0);
    assert.match((await r.chaos("--undo")).stdout, /Nothing to undo/);
  });

  test("vault-intermittent --rate 1 by vault name takes three probes; chaos clear ends it", async () => {
    const s = await r.setupRest("flaky");
    await r.chaos("vault-intermittent", s.vault, "--rate", "1");
    await r.probe();
    await r.probe();
    assert.equal(await r.dbStatus(s.dbId), "Online");
    await r.probe();
    assert.equal(await r.dbStatus(s.dbId), "Inaccessible");
    const p = problemsOf((await r.doctor(s.server)).report)[0]!;
    assert.equal(p.cause, "network-error");
    assert.equal(p.transient, true);
    assert.ok(p.evidence.some((e) => /fault injected on vault kv-flaky: intermittent rate 1/.test(e)));
    await r.chaos("clear", s.vault);
    assert.match((await r.chaos()).stdout, /No chaos in effect/);
    await online(s.dbId);
  });

  test("an unknown cause and an ambiguous target are refused", async () => {
    const bad = await r.tdekv(["chaos", "key-stolen"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown cause 'key-stolen'/);
    const ambiguous = await r.tdekv(["chaos", "key-disabled"]);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /more than one target: name one of/);
  });
});

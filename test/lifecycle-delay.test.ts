import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Drill } from "./lifecycle-kit.js";

/** Issue 5 §4: `--activity-log-delay` imitates Azure's 15-30 minute lag before events appear. */
let d: Drill;
after(async () => {
  await d.inst.stop();
});

test("events appear only after the configured delay, on tdekv's clock", async () => {
  d = await Drill.start(["--activity-log-delay", "900"]);
  const s = await d.scenario("delayed");
  await d.revoke(s.vault, s.principal);
  await d.probe();
  assert.equal(await d.status(s), "Inaccessible", "the state changes at once");
  assert.deepEqual(await d.events(s.dbId), [], "the event is not visible yet");
  await d.advance("14m");
  assert.deepEqual(await d.events(s.dbId), []);
  await d.advance("2m");
  assert.deepEqual(await d.events(s.dbId), ["MakeDatabaseInaccessible/Started"]);
});

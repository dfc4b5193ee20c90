/**
 * Start-up time of `tdekv start` (issue 2: "starts in well under 5 seconds"): a first start on an empty data
 * dir (CA, signing key and tenant are made) against warm restarts of the same dir, measured side by side in
 * one run, from spawn to the "ready" line. Run: node --import tsx bench/startup.ts [runs]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "tdekv.js");
const runs = Number(process.argv[2] ?? 5);

function startOnce(dataDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, "start", "--data-dir", dataDir, "--port", "0", "--proxy-port", "0", "--tds-port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("tdekv is ready")) {
        const ms = performance.now() - t0;
        child.once("exit", () => resolve(ms));
        child.kill("SIGINT");
      }
    });
    child.once("exit", (code) => {
      if (!out.includes("tdekv is ready")) reject(new Error(`exited ${code}`));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cold: number[] = [];
const warm: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-bench-start-"));
  cold.push(await startOnce(dir));
  warm.push(await startOnce(dir));
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`tdekv start, spawn to ready, ${runs} runs each (process start + module load included)`);
console.log(`  first start (empty data dir): median ${median(cold).toFixed(0)} ms, max ${Math.max(...cold).toFixed(0)} ms`);
console.log(`  restart (existing data dir):  median ${median(warm).toFixed(0)} ms, max ${Math.max(...warm).toFixed(0)} ms`);
console.log(`  ratio first/restart: ${(median(cold) / median(warm)).toFixed(2)}; budget 5000 ms: worst case uses ${((Math.max(...cold, ...warm) / 5000) * 100).toFixed(0)}%`);

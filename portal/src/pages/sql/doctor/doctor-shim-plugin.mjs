import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * esbuild plugin: lets the portal bundle tdekv doctor's own rules (src/doctor/checks.ts, facts.ts) so the
 * "Diagnose and solve problems" blade cannot drift from `tdekv doctor` (issue 9 §2, portal.md §4.2).
 * Those modules are pure except for `./client.js`, the Node HTTPS client; in the browser it is replaced by
 * doctor-client-shim.ts (the same API versions and error class, no node:* imports). Nothing else changes.
 */
const shim = path.join(path.dirname(fileURLToPath(import.meta.url)), "doctor-client-shim.ts");
const doctorDir = `${path.sep}src${path.sep}doctor${path.sep}`;

export const doctorShimPlugin = {
  name: "tdekv-doctor-client-shim",
  setup(build) {
    build.onResolve({ filter: /^\.\/client\.js$/ }, (args) => (args.importer.includes(doctorDir) && !args.importer.includes(`${path.sep}portal${path.sep}`) ? { path: shim } : undefined));
  },
};

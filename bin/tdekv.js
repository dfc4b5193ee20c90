#!/usr/bin/env node
// The built CLI lives in dist/ (npm run build). Kept tiny so `npm link` / npx work.
import("../dist/cli/main.js").then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`tdekv: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});

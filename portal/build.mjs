// Builds the portal SPA into dist/portal/ (portal.md §3.1: Preact + esbuild, no dev server).
// The HTML has no inline script or style because tdekv serves it with
// CSP `script-src 'self'; style-src 'self'` (portal.md §4.4).
import { build } from "esbuild";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, "dist", "portal");
/** Issue 9 §5: "JavaScript is at most 60 KB gzip in total". */
const JS_BUDGET = 60 * 1024;

await mkdir(out, { recursive: true });
const started = performance.now();
await build({
  entryPoints: [
    { in: join(root, "portal/src/main.tsx"), out: "app" },
    { in: join(root, "portal/src/styles.css"), out: "app" },
  ],
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>tdekv portal</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="app.css">
<script type="module" src="app.js"></script>
</head>
<body>
<div id="app"><p class="boot">Loading tdekv portal…</p></div>
<noscript><p>The tdekv portal needs JavaScript.</p></noscript>
</body>
</html>
`;
await writeFile(join(out, "index.html"), html);
// A local icon: without one the browser asks for /favicon.ico and logs a 404 (tests fail on console errors).
await writeFile(
  join(out, "favicon.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0f6cbd"/><path d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7zm2 0h2V5a1 1 0 0 0-2 0z" fill="#fff"/></svg>\n`,
);

const js = await readFile(join(out, "app.js"));
const css = await readFile(join(out, "app.css"));
const gz = gzipSync(js, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `portal: app.js ${kb(js.length)} (${kb(gz)} gzip), app.css ${kb(css.length)} (${kb(gzipSync(css).length)} gzip), ${Math.round(performance.now() - started)} ms`,
);
if (gz > JS_BUDGET) {
  console.error(`portal: app.js is ${kb(gz)} gzip, over the ${kb(JS_BUDGET)} budget (issue 9 §5)`);
  process.exit(1);
}

// Entry point: sign in first (authorization code + PKCE, lib/auth.ts), then render the shell.
import type { JSX } from "preact";
import { render } from "preact";
import { App } from "./app";
import { startSession } from "./lib/auth";
import { SignInProblem } from "./pages/home/signed-out";

const root = document.getElementById("app")!;
const show = (page: JSX.Element) => {
  root.textContent = ""; // drop index.html's static "Loading…" line; Preact would keep it next to the app
  render(page, root);
};
startSession().then(
  (signedIn) => signedIn && show(<App />),
  (err: unknown) => show(<SignInProblem error={err} />),
);

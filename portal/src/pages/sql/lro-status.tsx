import type { LroProgress } from "../../lib/api";

/**
 * A long-running operation in words (portal.md §4.4: "No spinners without text. LROs show the operation
 * name, elapsed time and a link to the operation's status URL"). The status URL needs a bearer, so it is
 * shown as text to copy into `az rest`, not as a link the browser would open without one.
 */
export function LroStatus({ name, progress }: { name: string; progress?: LroProgress | undefined }) {
  return (
    <div class="lro" role="status">
      <p>
        <span class="spinner" aria-hidden="true" /> <strong>{name}</strong>: {progress?.status ?? "Accepted"}, {Math.round((progress?.elapsedMs ?? 0) / 1000)} s elapsed
      </p>
      {progress?.statusUrl ? (
        <p class="muted lro-url">
          Status URL: <code>{progress.statusUrl}</code>
        </p>
      ) : null}
    </div>
  );
}

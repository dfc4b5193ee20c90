// A button that shows it is working: aria-busy while its onClick promise runs (portal.md §3.8 #8), and it ignores
// further clicks meanwhile without losing focus (aria-disabled, not disabled).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export function Button({ kind = "secondary", onClick, busy, disabled, children, type = "button", busyText, class: cls, id, describedBy }: {
  kind?: "primary" | "secondary" | "danger" | "link";
  onClick?: () => unknown;
  /** Force the busy state (e.g. while a parent runs an LRO). */
  busy?: boolean;
  disabled?: boolean;
  children: ComponentChildren;
  type?: "button" | "submit";
  /** Shown next to the label while busy, e.g. "Saving…". */
  busyText?: string;
  class?: string;
  id?: string;
  describedBy?: string;
}) {
  const [running, setRunning] = useState(false);
  const isBusy = !!busy || running;
  const click = async (e: Event) => {
    if (isBusy || disabled) {
      e.preventDefault();
      return;
    }
    const r = onClick?.();
    if (r && typeof (r as Promise<unknown>).then === "function") {
      setRunning(true);
      try {
        await r;
      } catch {
        /* the caller shows its own error */
      } finally {
        setRunning(false);
      }
    }
  };
  return (
    <button
      type={type}
      id={id}
      class={`btn btn-${kind} ${cls ?? ""}`}
      aria-busy={isBusy ? "true" : undefined}
      aria-disabled={isBusy || disabled ? "true" : undefined}
      aria-describedby={describedBy}
      onClick={click}
    >
      {children}
      {isBusy ? <span class="btn-busy"> {busyText ?? "…"}</span> : null}
    </button>
  );
}

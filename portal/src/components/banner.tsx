// A page banner. error/warning use role=alert, which screen readers announce when it appears (portal.md §4.3);
// do not put ticking content in it (a countdown inside must be aria-live="off", e.g. role=timer).
import type { ComponentChildren } from "preact";

const ICON = { error: "✕", warning: "!", info: "i", success: "✓" } as const;

export function Banner({ kind, heading, children, headingLevel = 2 }: { kind: "error" | "warning" | "info" | "success"; heading: string; children?: ComponentChildren; headingLevel?: 2 | 3 }) {
  const H = headingLevel === 2 ? "h2" : "h3";
  return (
    <section class={`banner banner-${kind}`} role={kind === "error" || kind === "warning" ? "alert" : undefined} aria-label={kind === "info" || kind === "success" ? heading : undefined}>
      <span class="banner-icon" aria-hidden="true">
        {ICON[kind]}
      </span>
      <div class="banner-body">
        <H class="banner-heading">{heading}</H>
        {children}
      </div>
    </section>
  );
}

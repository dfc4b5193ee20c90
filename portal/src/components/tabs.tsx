// Tabs with role=tablist, arrow keys between tabs, one tab stop (WAI-ARIA tabs pattern).
import type { ComponentChildren } from "preact";
import { useId, useState } from "preact/hooks";

export interface Tab {
  id: string;
  label: string;
  render: () => ComponentChildren;
}

export function Tabs({ tabs, label, selected, onSelect }: { tabs: Tab[]; label: string; selected?: string; onSelect?: (id: string) => void }) {
  const base = useId();
  const [own, setOwn] = useState(tabs[0]?.id ?? "");
  const current = selected ?? own;
  const pick = (id: string, focus = false) => {
    setOwn(id);
    onSelect?.(id);
    if (focus) document.getElementById(`${base}-tab-${id}`)?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.id === current);
    const n = tabs.length;
    const to = e.key === "ArrowRight" ? (i + 1) % n : e.key === "ArrowLeft" ? (i - 1 + n) % n : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : -1;
    if (to < 0) return;
    e.preventDefault();
    pick(tabs[to]!.id, true);
  };
  const active = tabs.find((t) => t.id === current) ?? tabs[0];
  return (
    <div class="tabs">
      <div role="tablist" aria-label={label} onKeyDown={onKey}>
        {tabs.map((t) => (
          <button
            type="button"
            role="tab"
            key={t.id}
            id={`${base}-tab-${t.id}`}
            aria-selected={t.id === active?.id}
            aria-controls={`${base}-panel`}
            tabIndex={t.id === active?.id ? 0 : -1}
            onClick={() => pick(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {active ? (
        <div role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${active.id}`} tabIndex={0} class="tabpanel">
          {active.render()}
        </div>
      ) : null}
    </div>
  );
}

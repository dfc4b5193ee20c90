// Modal dialog and side pane on the native <dialog>: focus is trapped, Esc closes, focus returns to the opener
// (portal.md §3.8 #12).
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

export function Dialog({ open, title, onClose, children, footer, variant = "dialog" }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren; variant?: "dialog" | "pane" }) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
    }
    if (!open && opener.current instanceof HTMLElement) {
      opener.current.focus();
      opener.current = null;
    }
  }, [open]);
  useEffect(
    () => () => {
      if (opener.current instanceof HTMLElement) opener.current.focus();
    },
    [],
  );
  return (
    <dialog
      ref={ref}
      class={variant}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open ? (
        <>
          <div class="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" class="btn btn-link dialog-close" onClick={onClose} aria-label={`Close ${title}`}>
              <span aria-hidden="true">✕</span>
            </button>
          </div>
          <div class="dialog-body">{children}</div>
          {footer ? <div class="dialog-foot">{footer}</div> : null}
        </>
      ) : null}
    </dialog>
  );
}

/** A side sheet (Azure's "context pane"), same behaviour as Dialog. */
export function Pane(props: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren }) {
  return <Dialog {...props} variant="pane" />;
}

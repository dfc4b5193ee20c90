// Copy to the clipboard and say so in a polite status region (portal.md §4.2: "Command copied" via role=status).
import { useState } from "preact/hooks";

export function CopyButton({ text, label, copied = "Copied", class: cls }: { text: string; label: string; copied?: string; class?: string }) {
  const [note, setNote] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setNote(copied);
    } catch {
      setNote("Copy failed: select the text and copy it by hand");
    }
    setTimeout(() => setNote(""), 4_000);
  };
  return (
    <span class={`copy ${cls ?? ""}`}>
      <button type="button" class="btn btn-secondary" onClick={copy}>
        {label}
      </button>
      <span role="status" class="copy-note">
        {note}
      </span>
    </span>
  );
}

// Raw JSON, like Azure's "JSON View". Scrolls inside a focusable region so 320 px never scrolls the page.
export function JsonView({ value, label = "JSON" }: { value: unknown; label?: string }) {
  return (
    <pre class="json" tabIndex={0} role="region" aria-label={label}>
      <code>{JSON.stringify(value, null, 2)}</code>
    </pre>
  );
}

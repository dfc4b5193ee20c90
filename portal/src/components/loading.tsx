// "No spinners without text" (portal.md §4.4).
export function Loading({ what = "Loading…" }: { what?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {what}
    </p>
  );
}

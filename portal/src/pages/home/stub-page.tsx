// Placeholder used by the area stubs until their owners land the real pages.
export function StubPage({ title }: { title: string }) {
  return (
    <>
      <h1>{title}</h1>
      <p>This page is not built yet.</p>
    </>
  );
}

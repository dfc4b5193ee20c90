// The global incident strip (issue 9 §2): while any database is Inaccessible, every page lists it with a link to
// its Incident timeline (U2's "incident" blade).
import { useContext } from "preact/hooks";
import { href } from "../../lib/router";
import { InventoryContext } from "./inventory";

export function IncidentStrip() {
  const inv = useContext(InventoryContext);
  const down = (inv.data?.rows ?? []).filter((r) => /\/databases$/i.test(r.type) && r.state?.toLowerCase() === "inaccessible");
  if (!down.length) return null;
  return (
    <section class="incident-strip" role="region" aria-label="Incident">
      <p class="incident-title">
        <span aria-hidden="true">✕ </span>
        {down.length === 1 ? "1 database is Inaccessible" : `${down.length} databases are Inaccessible`}
      </p>
      <ul>
        {down.map((d) => (
          <li key={d.id}>
            <a href={href(d.id, "incident")}>
              <span translate={false}>{d.name}</span>
              {d.parentName ? (
                <>
                  {" on "}
                  <span translate={false}>{d.parentName}</span>
                </>
              ) : null}
              {": Incident timeline"}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

// The resource page chrome (contract): breadcrumb, h1 = resource name, type line, "Copy resource ID",
// "Open JSON" (the raw ARM GET, like Azure's JSON View), a left blade menu and the blade.
import { useEffect, useRef, useState } from "preact/hooks";
import { Button, CopyButton, Dialog, ErrorBox, JsonView, Loading } from "../../components";
import { apiVersionFor, armPath, parseId, typeLabel } from "../../lib/arm-ids";
import { useArm } from "../../lib/hooks";
import { href } from "../../lib/router";
import type { ArmResource, Hint } from "../../lib/types";
import { bladesFor } from "../registry";

/** A hint about this resource, its parent or its children. */
const related = (id: string) => (h: Hint) => {
  if (!h.resourceId || h.type === "clock") return h.type !== "clock" && h.type !== "notification.sent";
  const a = h.resourceId.toLowerCase();
  const b = id.toLowerCase();
  return a.startsWith(b) || b.startsWith(a);
};

export function ResourcePage({ resourceId, blade }: { resourceId: string; blade: string }) {
  const res = useArm<ArmResource>(armPath(resourceId), [], { match: related(resourceId) });
  const [json, setJson] = useState(false);
  const bladeRef = useRef<HTMLDivElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // Switching blades moves focus to the blade, so keyboard and screen-reader users land on the new content.
    if (first.current) first.current = false;
    else bladeRef.current?.focus();
  }, [blade]);
  const id = parseId(resourceId);
  const name = res.data?.name ?? id.name;
  const parent = id.parentId ? parseId(id.parentId) : undefined;
  const crumbs = (
    <nav aria-label="Breadcrumb" class="crumbs">
      <ol>
        <li>
          <a href="#/home">All resources</a>
        </li>
        {parent && id.parentId ? (
          <li>
            <a href={href(id.parentId)} translate={false}>
              {parent.name}
            </a>
          </li>
        ) : null}
        <li aria-current="page" translate={false}>
          {name}
        </li>
      </ol>
    </nav>
  );
  if (!res.data) {
    return (
      <>
        {crumbs}
        <h1 translate={false}>{name}</h1>
        {res.error ? <ErrorBox error={res.error} title="The resource could not be read" /> : <Loading what="Loading resource…" />}
      </>
    );
  }
  const r = res.data;
  const blades = bladesFor(r);
  const current = blades.find((b) => b.id === blade) ?? blades[0];
  return (
    <>
      {crumbs}
      <div class="resource-head">
        <div>
          <h1 translate={false}>{r.name}</h1>
          <p class="type-line">{typeLabel(r.type)}</p>
        </div>
        <div class="resource-actions">
          <CopyButton text={r.id} label="Copy resource ID" />
          <Button onClick={() => setJson(true)}>Open JSON</Button>
        </div>
      </div>
      {res.error ? <ErrorBox error={res.error} title="The latest read of this resource failed" /> : null}
      <div class="resource-layout">
        <nav aria-label={`${r.name} menu`} class="blade-menu">
          <ul>
            {blades.map((b) => (
              <li key={b.id}>
                <a href={href(r.id, b.id)} aria-current={b.id === current?.id ? "page" : undefined}>
                  {b.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="blade" ref={bladeRef} tabIndex={-1}>
          {current ? current.render() : <p>Nothing to show for this resource type.</p>}
        </div>
      </div>
      <Dialog open={json} title="Resource JSON" onClose={() => setJson(false)}>
        <p class="muted">
          Resource ID <code translate={false}>{r.id}</code> · API version <code>{apiVersionFor(r.type)}</code>
        </p>
        <JsonView value={r} label="Resource JSON" />
      </Dialog>
    </>
  );
}

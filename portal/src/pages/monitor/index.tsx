import type { Area } from "../../lib/types";
import { GenericOverview } from "../home/generic-overview";
import { ActivityLog } from "./activity-log";
import { AlertRules } from "./alert-rules";
import { ActionGroups } from "./action-groups";
import { Notifications } from "./notifications";

/**
 * Monitor (portal.md §3.6 #7): #/monitor/{activity-log|alert-rules|action-groups|notifications}; the shell's
 * side nav links each page. Action groups
 * and alert rules opened as resources get the generic Overview (raw ARM), with their management here.
 */
const PAGES: { id: string; label: string; render: () => preact.JSX.Element }[] = [
  { id: "activity-log", label: "Activity log", render: () => <ActivityLog /> },
  { id: "alert-rules", label: "Alert rules", render: () => <AlertRules /> },
  { id: "action-groups", label: "Action groups", render: () => <ActionGroups /> },
  { id: "notifications", label: "Notifications", render: () => <Notifications /> },
];

function Monitor({ blade }: { blade?: string }) {
  const page = PAGES.find((p) => p.id === blade) ?? PAGES[0]!;
  return (
    <>
      <h1>Monitor</h1>
      {page.render()}
    </>
  );
}

export const area: Area = {
  resourceTypes: ["microsoft.insights/actiongroups", "microsoft.insights/activitylogalerts"],
  blades: (r) => [{ id: "overview", label: "Overview", render: () => <GenericOverview resource={r} /> }],
  topLevel: [{ path: "monitor", label: "Monitor", render: (blade) => <Monitor blade={blade} /> }],
};

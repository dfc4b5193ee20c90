import type { Area } from "../../lib/types";
import { ScenariosPage } from "./scenarios-page";

/** Scenarios (tdekv only, portal.md §3.6 #8): the seed's causes as one-click faults, undo, and the clock. */
export const area: Area = {
  resourceTypes: [],
  blades: () => [],
  topLevel: [{ path: "scenarios", label: "Scenarios (tdekv only)", render: () => <ScenariosPage /> }],
};

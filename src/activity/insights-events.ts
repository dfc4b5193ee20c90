import { ArmError, armResponses, parseFilter, type ResourceProvider } from "../arm/index.js";
import type { ActivityLog, EventQuery } from "./activity-log.js";

const PAGE = 200;

const badFilter = (message: string) => new ArmError(400, "BadRequest", message);

/** az sends naive UTC ISO times (`2026-11-27T08:56:43.611149`, az-cli-compat.md §6); the SDKs send `...Z`. */
function parseTime(value: string): number {
  const v = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw badFilter(`The time '${value}' in $filter is not a valid date-time.`);
  return t;
}

/**
 * `GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values` with Azure's $filter:
 * a required `eventTimestamp ge` (and optional `le`) plus resourceGroupName, resourceId/resourceUri,
 * correlationId, resourceProvider, status, caller and category, joined by `and`; newest first; nextLink
 * paging with `$skiptoken`; `$select` projects top-level fields.
 */
export function insightsEventsProvider(log: ActivityLog): ResourceProvider {
  return {
    namespace: "Microsoft.Insights",
    types: ["eventtypes/values"],
    async handle(call) {
      if (call.method !== "GET" || call.kind !== "collection" || call.ref.names[0]?.toLowerCase() !== "management") {
        throw new ArmError(404, "NotFound", `The requested path '${call.req.path}' was not found.`);
      }
      const raw = call.req.query.get("$filter");
      const terms = parseFilter(raw);
      if (!terms) throw badFilter(`The $filter '${raw}' is not supported. Use eventTimestamp ge/le with resourceGroupName, resourceId, correlationId, resourceProvider, status, caller or category eq.`);
      const q: EventQuery = { subscriptionId: call.subscription.id, limit: PAGE };
      for (const t of terms) {
        const f = t.field.toLowerCase();
        if (f === "eventtimestamp") {
          if (t.op === "ge" || t.op === "gt") q.from = parseTime(t.value);
          else if (t.op === "le" || t.op === "lt") q.to = parseTime(t.value);
          else throw badFilter("eventTimestamp takes ge and le.");
          continue;
        }
        if (t.op !== "eq") throw badFilter(`'${t.field}' takes eq.`);
        if (f === "resourcegroupname") q.resourceGroup = t.value;
        else if (f === "resourceid" || f === "resourceuri") q.resourceId = t.value;
        else if (f === "correlationid") q.correlationId = t.value;
        else if (f === "resourceprovider") q.resourceProvider = t.value;
        else if (f === "status") q.status = t.value;
        else if (f === "caller") q.caller = t.value;
        else if (f === "category") q.category = t.value;
        else throw badFilter(`The field '${t.field}' cannot be used in $filter.`);
      }
      if (q.from === undefined) throw badFilter("The $filter must contain 'eventTimestamp ge <date-time>'.");
      const skip = call.req.query.get("$skiptoken");
      if (skip) {
        if (!/^\d+$/.test(skip)) throw badFilter("The $skiptoken is not valid.");
        q.beforeSeq = Number(skip);
      }
      const rows = await log.query(q);
      const select = call.req.query.get("$select")?.split(",").map((s) => s.trim()).filter(Boolean);
      const value = rows.map((r) => (select?.length ? Object.fromEntries(select.map((k) => [k, (r.data as Record<string, unknown>)[k]])) : r.data));
      const body: Record<string, unknown> = { value };
      if (rows.length === PAGE) {
        const next = new URLSearchParams(call.req.query);
        next.set("$skiptoken", String(rows[rows.length - 1]!.seq));
        body.nextLink = `${call.req.origin}/subscriptions/${call.subscription.id}/providers/Microsoft.Insights/eventtypes/management/values?${next.toString().replace(/\+/g, "%20")}`;
      }
      return armResponses.ok(body);
    },
  };
}

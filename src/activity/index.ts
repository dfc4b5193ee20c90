export { ActivityLog, type StoredEvent, type EventQuery } from "./activity-log.js";
export { type NewEvent, type EventData, type EventCategory, type EventStatus, eventData, localized, resourceParts } from "./event-shape.js";
export { insightsEventsProvider } from "./insights-events.js";

export { prepareTls, type TlsMaterial, AZURE_PROXY_NAMES } from "./ca.js";
export { startFrontDoor, type Surfaces, type RunningFrontDoor, type FrontDoorOptions } from "./front-door.js";
export { classifyHost, proxyAllows, portalOrigins, type SurfaceName } from "./hosts.js";

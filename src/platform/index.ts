export { type Clock, systemClock, ManualClock, ScaledClock, epochSeconds } from "./clock.js";
export { newGuid, newHexId, newSecret, isGuid, newEtag } from "./ids.js";
export { DomainError } from "./errors.js";
export { SecretBox } from "./secret-box.js";
export { type TdekvConfig, type ConfigInput, loadConfig, resolveDataDir, resolveStore, ConfigError, DEFAULTS, ENV } from "./config.js";
export { type Logger, createLogger, silentLogger } from "./logger.js";
export { type SurfaceRequest, type SurfaceResponse, type SurfaceHandler, type StreamSink, header } from "./http-types.js";
export { httpsJson, type HttpsJsonRequest, type HttpsJsonResult } from "./https-json.js";
export { ChangeFeed, type ChangeSink, type Hint, type HintType, type FeedItem, COALESCE_MS, REPLAY_CAPACITY } from "./change-feed.js";

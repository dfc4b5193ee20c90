export { createCluster, type Cluster, type ClusterDeps, type ClusterView } from "./cluster.js";
export { createClusterAdminRoute } from "./admin-route.js";
export { LeaseStore, type LeaseRow, type NodeRow, type Claimed } from "./lease-store.js";
export { Placement, type LocalFiles, PLACEMENT_POLL_MS } from "./placement.js";
export { fairShare, rebalance, actUntil, leaseMarginMs, SHED_SLACK } from "./fair-share.js";
export { Routing, type DatabaseRoute, type OwnerNode } from "./routing.js";

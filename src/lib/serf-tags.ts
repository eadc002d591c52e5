/**
 * The serf tags of a Yagura data center (docs/node-agent.md): what every
 * member says of itself, set by its serf config (serial, role, rack) and by
 * its node agent (failed-checks, uptime, os-version), and read by the state
 * setter. One vocabulary for both sides.
 */

/** Names the machine: members are matched to machines by it, not by node name. */
export const SERIAL_TAG = 'serial';
/** The node checks that failed, comma-separated; empty when all pass; absent while the node boots. */
export const FAILED_CHECKS_TAG = 'failed-checks';
/** Seconds the node (its agent) has been up, in steps of a minute. */
export const UPTIME_TAG = 'uptime';
export const OS_VERSION_TAG = 'os-version';

// The queue's wake-up rule, shared by every worker loop: an ops_queue notification names the worker that claims first.

/**
 * How long a worker that a notification did not name waits before it claims anyway, in case the named one died since
 * its last heartbeat: long enough to be rare work, short enough not to be waited for long.
 */
export const WAKE_BACKSTOP_MS = 250;

/**
 * Whether a named worker's claim leaves work for the others, so that it passes the news on to everyone: it found
 * nothing (not a run it serves) or filled every slot it asked for (there may be more).
 */
export const leavesWorkForOthers = (claimed: number, asked: number): boolean => claimed === 0 || claimed === asked;

/**
 * How long `npm start` may take to stop (SIGINT/SIGTERM), Redis up or not: active jobs get
 * SHUTDOWN_GRACE_MS to finish, then are left to stall recovery (which the next start runs at
 * once); every other step is bounded too; past SHUTDOWN_BOUND_MS the process exits 1.
 */
export const SHUTDOWN_GRACE_MS = 3000;
export const SHUTDOWN_BOUND_MS = 8000;

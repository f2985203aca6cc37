/**
 * The Node.js lines this project supports (README, "Node.js and npm"): 22 and 24, the LTS lines.
 * Node 20 (end of life April 2026) still runs it while the pinned dependencies allow; the AWS SDK
 * for JavaScript v3 says at its first client, in nine lines, that its releases after the first
 * week of January 2027 need Node 22. `npm run demo` says that in one line of its own instead.
 */

/** The oldest major line that is supported, not merely tolerated. */
export const OLDEST_SUPPORTED_MAJOR = 22;

/** The AWS SDK's own switch for its Node-version notice (@aws-sdk/core, emitWarningIfUnsupportedVersion). */
export const SDK_NODE_WARNING_VARIABLE = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

export function nodeMajor(version: string = process.version): number {
  return Number.parseInt(version.replace(/^v/, ''), 10);
}

/** One line for a Node.js older than the supported lines, or undefined on a supported one. */
export function oldNodeNotice(version: string = process.version): string | undefined {
  if (nodeMajor(version) >= OLDEST_SUPPORTED_MAJOR) return undefined;
  return `node ${version} is past its end of life: use Node 22 or 24 (README, "Node.js and npm"); AWS SDK releases after the first week of January 2027 need Node 22`;
}

/**
 * On a Node.js older than the supported lines, turns off the AWS SDK's multi-line notice (the
 * caller prints oldNodeNotice instead), unless the variable is set already. Must run before the
 * first SDK client is made. Returns whether it set the variable.
 */
export function replaceSdkNodeWarning(env: NodeJS.ProcessEnv = process.env, version: string = process.version): boolean {
  if (oldNodeNotice(version) === undefined || env[SDK_NODE_WARNING_VARIABLE] !== undefined) return false;
  env[SDK_NODE_WARNING_VARIABLE] = 'true';
  return true;
}

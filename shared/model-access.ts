/**
 * Bedrock model access through AWS Marketplace, as both sides of the cloud path read it: the Lambda
 * classifies the AccessDeniedException (bedrock/bedrock-errors.ts, code `model_access_pending`), the
 * worker waits the minutes the message asks for (workers/step-lifecycle.ts).
 *
 * Real messages end "If you recently fixed this issue, try again after N minutes." with N = 2 or 5
 * (sources in bedrock/bedrock-errors.ts; the Bedrock user guide says a subscription can take up to
 * 15 minutes), so N is read from the message, never assumed.
 */

/** The code both sides use for "model access is being set up: try again in minutes". */
export const MODEL_ACCESS_PENDING = 'model_access_pending';

const TRY_AGAIN_AFTER = /try again after (\d{1,3}) minutes?/i;

/** The wait a Marketplace AccessDenied message asks for, in ms, or undefined when it names none. */
export function retryAfterFromMessage(message: string): number | undefined {
  const m = TRY_AGAIN_AFTER.exec(message);
  return m ? Number(m[1]) * 60_000 : undefined;
}

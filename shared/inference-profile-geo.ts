/**
 * The geographic prefix of a region's system-defined cross-region inference profiles (`us.`,
 * `eu.`, `apac.`; `global.` exists besides them), from the Bedrock user guide's "Supported Regions
 * and models for inference profiles" (read 2026-12-02). Not certain for every region: newer
 * geographies (`jp.`, `au.`, `ca.`) also exist for some models, so a region outside `us-`, `eu-`,
 * `ap-` gets `global`.
 */
export function geoPrefixOf(region: string): string {
  if (region.startsWith('us-gov-')) return 'us-gov';
  const geo = /^(us|eu|ap)-/.exec(region)?.[1];
  return geo === 'ap' ? 'apac' : (geo ?? 'global');
}

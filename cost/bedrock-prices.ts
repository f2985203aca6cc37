/**
 * Bedrock on-demand prices of the common text model families, shipped as data.
 *
 * Source: Amazon Bedrock pricing page (https://aws.amazon.com/bedrock/pricing/), on-demand,
 * US East (N. Virginia), standard tier, as of {@link BEDROCK_PRICES_DATE}. Prices are USD per
 * 1,000 tokens (the page lists most models per 1,000 or per million; per million / 1000 here).
 * Cross-region (geographic) inference profiles are billed at the source region's price, so an
 * inference-profile id costs what its base model costs; the 10 % regional-endpoint premium of the
 * newest Claude models is not modelled. Prices change: override them with PRICES_FILE
 * (README, "Cost").
 */

/** One row: a family matched against the base model id (no region prefix, no ARN). */
export interface PriceRow {
  family: string;
  match: RegExp;
  inputPer1k: number;
  outputPer1k: number;
}

/** The date the table was taken from the pricing page. */
export const BEDROCK_PRICES_DATE = '2026-11-30';
export const BEDROCK_PRICES_SOURCE = 'https://aws.amazon.com/bedrock/pricing/ (on-demand, us-east-1)';

/** First matching row wins: more specific rows come first. */
export const BEDROCK_PRICES: readonly PriceRow[] = [
  { family: 'Claude 3 Haiku', match: /^anthropic\.claude-3-haiku-/, inputPer1k: 0.00025, outputPer1k: 0.00125 },
  { family: 'Claude 3.5 Haiku', match: /^anthropic\.claude-3-5-haiku-/, inputPer1k: 0.0008, outputPer1k: 0.004 },
  { family: 'Claude Haiku 4.5', match: /^anthropic\.claude-haiku-4-5-/, inputPer1k: 0.001, outputPer1k: 0.005 },
  { family: 'Claude 3 Sonnet', match: /^anthropic\.claude-3-sonnet-/, inputPer1k: 0.003, outputPer1k: 0.015 },
  { family: 'Claude 3.5 Sonnet', match: /^anthropic\.claude-3-5-sonnet-/, inputPer1k: 0.003, outputPer1k: 0.015 },
  { family: 'Claude 3.7 Sonnet', match: /^anthropic\.claude-3-7-sonnet-/, inputPer1k: 0.003, outputPer1k: 0.015 },
  { family: 'Claude Sonnet 4 / 4.5', match: /^anthropic\.claude-sonnet-4-/, inputPer1k: 0.003, outputPer1k: 0.015 },
  { family: 'Claude 3 Opus', match: /^anthropic\.claude-3-opus-/, inputPer1k: 0.015, outputPer1k: 0.075 },
  { family: 'Claude Opus 4.5', match: /^anthropic\.claude-opus-4-5-/, inputPer1k: 0.005, outputPer1k: 0.025 },
  { family: 'Claude Opus 4 / 4.1', match: /^anthropic\.claude-opus-4-/, inputPer1k: 0.015, outputPer1k: 0.075 },
  { family: 'Titan Text Express', match: /^amazon\.titan-text-express-/, inputPer1k: 0.0002, outputPer1k: 0.0006 },
  { family: 'Titan Text Lite', match: /^amazon\.titan-text-lite-/, inputPer1k: 0.00015, outputPer1k: 0.0002 },
  { family: 'Titan Text Premier', match: /^amazon\.titan-text-premier-/, inputPer1k: 0.0005, outputPer1k: 0.0015 },
  { family: 'Nova Micro', match: /^amazon\.nova-micro-/, inputPer1k: 0.000035, outputPer1k: 0.00014 },
  { family: 'Nova Lite', match: /^amazon\.nova-lite-/, inputPer1k: 0.00006, outputPer1k: 0.00024 },
  { family: 'Nova Pro', match: /^amazon\.nova-pro-/, inputPer1k: 0.0008, outputPer1k: 0.0032 },
  { family: 'Llama 3 8B Instruct', match: /^meta\.llama3-8b-instruct-/, inputPer1k: 0.0003, outputPer1k: 0.0006 },
  { family: 'Llama 3 70B Instruct', match: /^meta\.llama3-70b-instruct-/, inputPer1k: 0.00265, outputPer1k: 0.0035 },
  { family: 'Llama 3.1 8B Instruct', match: /^meta\.llama3-1-8b-instruct-/, inputPer1k: 0.00022, outputPer1k: 0.00022 },
  { family: 'Llama 3.1 70B Instruct', match: /^meta\.llama3-1-70b-instruct-/, inputPer1k: 0.00072, outputPer1k: 0.00072 },
  { family: 'Llama 3.3 70B Instruct', match: /^meta\.llama3-3-70b-instruct-/, inputPer1k: 0.00072, outputPer1k: 0.00072 },
  { family: 'Mistral 7B Instruct', match: /^mistral\.mistral-7b-instruct-/, inputPer1k: 0.00015, outputPer1k: 0.0002 },
  { family: 'Mixtral 8x7B Instruct', match: /^mistral\.mixtral-8x7b-instruct-/, inputPer1k: 0.00045, outputPer1k: 0.0007 },
  { family: 'Mistral Large (2402)', match: /^mistral\.mistral-large-2402-/, inputPer1k: 0.004, outputPer1k: 0.012 },
  { family: 'DeepSeek-R1', match: /^deepseek\.r1-/, inputPer1k: 0.00135, outputPer1k: 0.0054 },
];

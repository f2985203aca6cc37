/**
 * `npm run emulators`: starts the Bedrock Runtime, Ollama and OpenAI-compatible emulators on the ports from
 * {@link loadEmulatorConfig} (BEDROCK_EMULATOR_PORT 4010, OLLAMA_EMULATOR_PORT 11435, OPENAI_EMULATOR_PORT 8001), prints their
 * URLs and stops cleanly on SIGINT/SIGTERM (bounded by a timeout).
 *
 * @example
 * EMULATOR_LATENCY_MS=200 EMULATOR_FAULTS=429:0.1 npm run emulators
 */
import { loadEmulatorConfig } from './emulator-config';
import { createLogger } from '../shared/logger';
import { onShutdown } from '../shared/shutdown';
import { startBedrockEmulator } from './bedrock-emulator';
import { loadModelCatalog } from '../shared/model-catalog';
import type { EmulatorHandle } from './emulator-server';
import { startOllamaEmulator } from './ollama-emulator';
import { startOpenAiEmulator } from './openai-emulator';

async function main(): Promise<void> {
  const config = loadEmulatorConfig();
  const started: EmulatorHandle[] = [];
  try {
    const common = { host: config.host, latencyMs: config.latencyMs, faults: config.faults };
    // Lifecycle errors (end of life, Legacy), the control plane and STS follow the model catalogue in force, as `npm start` does.
    const catalog = loadModelCatalog(config.modelCatalogFile);
    const bedrock = await startBedrockEmulator({
      ...common,
      port: config.bedrockPort,
      msPerOutputToken: config.bedrockMsPerOutputToken,
      catalog,
      control: { catalog },
    });
    started.push(bedrock);
    const ollama = await startOllamaEmulator({ ...common, port: config.ollamaPort });
    started.push(ollama);
    const openai = await startOpenAiEmulator({ ...common, port: config.openaiPort });
    started.push(openai);
    process.stdout.write(
      [
        `Bedrock Runtime emulator: ${bedrock.url}   (BEDROCK_ENDPOINT=${bedrock.url}; give the SDK a NodeHttpHandler)`,
        `  also STS and the Bedrock control plane (AWS_ENDPOINT_URL=${bedrock.url} for every AWS client, e.g. npx llmconv doctor)`,
        `Ollama emulator:          ${ollama.url}   (OLLAMA_HOST=${ollama.url})`,
        `OpenAI-compatible:        ${openai.url}/v1   (LOCAL=openai OPENAI_BASE_URL=${openai.url}/v1)`,
        `latency ${config.latencyMs} ms, faults ${config.faults.length ? JSON.stringify(config.faults) : 'none'}`,
        'control: POST|DELETE /_emulator/faults, GET /_emulator/stats on either URL; GET|POST|DELETE /_emulator/model-access on Bedrock. Ctrl-C stops.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await Promise.all(started.map((h) => h.close()));
    throw err;
  }

  // Bounded like every process: a hung client cannot keep the emulators from stopping.
  const logger = createLogger({ name: 'emulators' });
  onShutdown(logger, [{ name: 'emulators', run: () => Promise.all(started.map((h) => h.close())) }], 10_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

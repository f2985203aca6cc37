/**
 * The one place that reads the environment (`import … from 'shared/config'`): the schema
 * (schema.ts: each key once, with its default, doc, readers and parser), the loaders (load.ts:
 * everything, one process's part, or named fields), the types (types.ts) and the values derived
 * from a loaded config (derived.ts). Load once at start, pass the typed object down.
 *
 * @example
 * const config = loadConfig();                            // every key; throws ConfigError on a bad value
 * const config = loadConfig(process.env, { for: 'producer' }); // the producer's keys only
 * const config = loadConfig({ PORT: '0' });                 // tests pass their own environment
 */
export * from './types';
export { CONFIG_PROCESSES, describeReaders, type ConfigProcess, workerProcess, WORKERS } from './processes';
export { PLACEHOLDER, type Reader } from './reader';
export { modelCatalogFile, SHIPPED_BOARD_PASSWORD } from './parsers';
export { SCHEMA, type KeySpec, type Schema } from './schema';
export {
  CONFIG_KEYS,
  type ConfigKeyDoc,
  type ConfigScope,
  fieldsReadBy,
  type LoadOptions,
  loadConfig,
  loadConfigFields,
  processesOf,
  reader,
} from './load';
export { localModelOf, ollamaHostOf, ollamaPoolOf } from './derived';

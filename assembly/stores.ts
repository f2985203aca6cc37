/**
 * The stores a process reads and writes, built once on one connection from config (each store owns
 * its keys; docs/architecture.md, "store/"), and the price table the workers' budgets and
 * transcripts read, loaded once per process.
 */
import type { Redis } from 'ioredis';
import { loadPriceTable, type PriceTable } from '../cost/price-table';
import type { Config } from '../shared/config';
import { BudgetStore } from '../store/budget-store';
import { ConversationStore } from '../store/conversation-store';
import { LocalModelRegistry } from '../store/local-models';
import { ModelQuirks } from '../store/model-quirks';

export interface Stores {
  conversations: ConversationStore;
  budgets: BudgetStore;
  quirks: ModelQuirks;
  localModels: LocalModelRegistry;
}

/** The stores of `config`'s prefix on `conn`. */
export function buildStores(conn: Redis, config: Config): Stores {
  return {
    conversations: ConversationStore.fromConfig(conn, config),
    budgets: new BudgetStore(conn),
    quirks: new ModelQuirks(conn, config.queuePrefix),
    localModels: new LocalModelRegistry(conn, config.queuePrefix),
  };
}

/** PRICES_FILE over MODEL_CATALOG_FILE's prices (cost/price-table.ts; each file read once per path). */
export function loadPrices(config: Pick<Config, 'pricesFile' | 'modelCatalogFile'>): PriceTable {
  return loadPriceTable(config.pricesFile, config.modelCatalogFile);
}

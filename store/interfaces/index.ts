/**
 * The store interfaces: what the domain (runs/, export/, workers/, producer/) needs of each piece
 * of state, apart from its Redis implementation beside this folder (store/<name>.ts implements
 * store/interfaces/<name>.ts). A consumer that only calls a store takes the interface; the
 * assembly picks the implementation.
 */
export type * from './archive-store';
export type * from './budget-store';
export type * from './caller-store';
export type * from './conversation-store';
export type * from './judge-store';
export type * from './run-store';

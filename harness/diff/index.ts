export * from './types';
export { diffContracts } from './compare';
export { diffJson, diffMarkdown, fails, summaryLine } from './report';
export { DEFAULT_CONTRACT_PATH, DiffInputError, loadContractSource } from './source';
export type { ContractSource, OpenApiDocument } from './source';
export { addDiffCommand, runDiff } from './command';
export type { DiffCommandOptions, DiffIo } from './command';

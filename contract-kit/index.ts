/**
 * The contract kit: loading the contracts, compiling their validators, checking a reply, the problem
 * types and JSON Pointers. The mock and the harness are two clients of it; it imports neither
 * (docs/decisions.md, "A contract kit").
 */
export * from './load';
export * from './ajv';
export * from './compiled';
export * from './check-response';
export * from './pointer';
export * from './media-type';
export * from './problem-types';

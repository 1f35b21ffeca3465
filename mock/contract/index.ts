export * from './load';
export * from './ajv';
export * from './compiled';
export * from './check-response';

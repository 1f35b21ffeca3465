export * from './types';
export * from './checks';
export * from './runner';
export * from './reports';
export * from './targets';
export { Redactor } from './redact';
export * from './diff';

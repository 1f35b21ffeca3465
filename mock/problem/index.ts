export * from './catalogue';
export * from './problem';

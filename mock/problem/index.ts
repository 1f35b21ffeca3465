export * from '../../contract-kit/problem-types';
export * from '../../contract-kit/pointer';
export * from './problem';

import type { HandlerEntry } from './context';
import { AUTH_HANDLERS } from './auth';
import { AUTHORISATION_HANDLERS } from './authorisation';
import { REGISTRATION_HANDLERS } from './registration';
import { ENERGY_HANDLERS } from './energy';
import { PAYMENT_HANDLERS } from './payments';
import { getCustomer } from './customers';

/** The handler registry, keyed by operationId (architecture.md). */
export const HANDLERS: Readonly<Record<string, HandlerEntry>> = Object.freeze({
  ...AUTH_HANDLERS,
  ...AUTHORISATION_HANDLERS,
  ...REGISTRATION_HANDLERS,
  GetCustomer: { handle: getCustomer },
  ...ENERGY_HANDLERS,
  ...PAYMENT_HANDLERS,
});

import request from 'supertest';
import type { Test } from 'supertest';
import type { Express } from 'express';
import pino from 'pino';
import { createApp, defaultContract } from '../../mock/app';
import type { MockApp } from '../../mock/app';
import { loadConfig } from '../../mock/config';
import type { ConfigInput } from '../../mock/config';
import { ManualClock } from '../../mock/clock';
import { MemoryStore } from '../../mock/store';
import type { Store } from '../../mock/store';
import type { Violation } from '../../contract-kit';
import personas from '../../fixtures/personas.json';

export { personas };
export const KEY = personas.subscriptionKey;
export const CLIENT = { id: personas.clientId, secret: personas.clientSecret };

export type PersonaId = 'basic' | 'two-factor' | 'unregistered' | 'in-debt' | 'gas-only';

/** The pinned persona with this id. */
export function persona(id: PersonaId): (typeof personas.personas)[number] {
  const p = personas.personas.find((x) => x.id === id);
  if (!p) throw new Error(`no persona ${id}`);
  return p;
}

/** An in-process mock with a manual clock; every reply is checked against the contract. */
export interface TestMock extends MockApp {
  clock: ManualClock;
  violations: Violation[];
  /** Every operation reply (router 404/405 have no operationId), in order: for status coverage checks. */
  observed: { operationId?: string; status: number }[];
  /** Every log line the mock wrote (JSON), so tests can check that no secret is ever logged. */
  logs: string[];
  /** A supertest agent-like helper that adds the subscription key. */
  call(method: 'get' | 'post' | 'put' | 'delete' | 'patch' | 'options' | 'head', path: string): Test;
  /** Logs in a persona (password grant) and, for the two-factor persona, completes SendOTP/VerifyOTP. */
  token(id: PersonaId): Promise<string>;
}

/**
 * Builds an in-process mock for a test file. The mock checks each of its replies against the contract
 * and records violations. Called at a file's top level (`hooks`, the default), it also registers an
 * afterEach that fails the test on any violation and resets the store, so each test starts from the
 * seeded state; a mock made inside a test passes `{ hooks: false }`.
 */
export function testMock(overrides: ConfigInput = {}, { hooks = true }: { hooks?: boolean } = {}): TestMock {
  const clock = new ManualClock();
  const violations: Violation[] = [];
  const observed: TestMock['observed'] = [];
  const logs: string[] = [];
  const logStream = {
    write(line: string): void {
      logs.push(line);
      const entry = JSON.parse(line) as { msg?: string; operationId?: string; status?: number };
      if (entry.msg === 'request' && typeof entry.status === 'number')
        observed.push({ operationId: entry.operationId, status: entry.status });
    },
  };
  const config = loadConfig({ accounts: 1000, logLevel: 'silent', selfCheck: true, ...overrides }, {});
  const mock = createApp({
    config,
    clock,
    contract: defaultContract(),
    logger: pino({ level: 'info' }, logStream),
    onViolation: (v) => violations.push(...v),
  });
  const app: Express = mock.app;
  const call: TestMock['call'] = (method, path) =>
    request(app)[method](path).set('Ocp-Apim-Subscription-Key', KEY);
  const token = async (id: PersonaId): Promise<string> => {
    const p = persona(id);
    const res = await call('post', '/api/identity/auth/TokenRequest')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send({ grant_type: 'password', username: p.username, password: p.password });
    if (res.status !== 200)
      throw new Error(`login of ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
    let access: string = res.body.access_token;
    if (res.body.scope === 'otp') {
      const sent = await call('post', '/api/identity/authorisation/SendOTP')
        .set('Authorization', `Bearer ${access}`)
        .send({ channel: 'sms' });
      const outbox = await request(app).get('/__admin/outbox').query({ otpId: sent.body.otpId });
      const verified = await call('post', '/api/identity/authorisation/VerifyOTP')
        .set('Authorization', `Bearer ${access}`)
        .send({ otpId: sent.body.otpId, code: outbox.body[0].code });
      if (verified.status !== 200) throw new Error(`VerifyOTP for ${id} failed: ${verified.status}`);
      access = verified.body.access_token;
    }
    return access;
  };
  if (hooks) {
    afterEach(() => {
      expect(violations).toEqual([]);
      void mock.services.store.reset();
      mock.services.clock.resume();
    });
  }
  return { ...mock, clock, violations, observed, logs, call, token };
}

/** The maps of a mock's memory store (the default), for tests that look inside it. */
export function memoryOf(mock: MockApp): Store {
  const { store } = mock.services;
  if (!(store instanceof MemoryStore)) throw new Error(`the mock's store is ${store.kind}, not memory`);
  return store.data;
}

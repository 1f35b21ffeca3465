import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp, defaultContract } from '../../mock/app';
import { loadConfig } from '../../mock/config';
import { createLogger, prettyMessage } from '../../mock/logger';
import { CLIENT, KEY, persona } from '../helpers/mock';

/**
 * What the mock logs (issue 10, "the first five minutes"): one line per request with the problem type
 * on an error; `--log-level debug` adds the stage that answered and a validation problem's fields; the
 * pretty format reads as one line per request; no line holds a secret or personal data.
 */

type Line = Record<string, unknown>;

/** An in-process mock whose logger (created as the server creates it) writes into `lines`. */
function mockAt(logLevel: 'info' | 'debug', pretty = false) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const config = loadConfig({ logLevel }, {});
  const logger = createLogger(config, { pretty, destination });
  const { app } = createApp({ config, logger, contract: defaultContract() });
  const requestLines = (): Line[] =>
    lines.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request');
  return { app, lines, requestLines };
}

const basic = persona('basic');
const login = (app: Parameters<typeof request>[0], password = basic.password) =>
  request(app)
    .post('/api/identity/auth/TokenRequest')
    .set('Ocp-Apim-Subscription-Key', KEY)
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send({ grant_type: 'password', username: basic.username, password });

test('a request line names the operation, route template, status and time; an error also its problem type', async () => {
  const { app, requestLines } = mockAt('info');
  const token = (await login(app)).body.access_token as string;
  await request(app)
    .get('/api/energy/premises?limit=500')
    .set('Ocp-Apim-Subscription-Key', KEY)
    .set('Authorization', `Bearer ${token}`);
  await request(app).get('/api/energy/premises');
  await request(app).get('/nowhere');
  const [tokenLine, tooMany, noKey, notFound] = requestLines();
  expect(tokenLine).toMatchObject({ level: 30, operationId: 'TokenRequest', method: 'POST', status: 200 });
  expect(tokenLine!.problem).toBeUndefined();
  expect(tooMany).toMatchObject({
    operationId: 'ListPremises',
    route: '/api/energy/premises',
    status: 400,
    problem: 'validation-error',
  });
  expect(typeof tooMany!.durationMs).toBe('number');
  expect(typeof tooMany!.requestId).toBe('string');
  // The gateway's own 401 (API Management's JSON) is named by its catalogue type too.
  expect(noKey).toMatchObject({ status: 401, problem: 'subscription-key' });
  expect(notFound).toMatchObject({ status: 404, problem: 'not-found', route: '/nowhere' });
  // Info lines carry no debug detail.
  expect(tooMany!.stage).toBeUndefined();
  expect(tooMany!.errors).toBeUndefined();
});

test('--log-level debug says which stage answered and which fields were wrong, never the values sent', async () => {
  const { app, lines, requestLines } = mockAt('debug');
  const wrongPassword = 'Not-The-Password-123';
  await login(app, wrongPassword);
  const token = (await login(app)).body.access_token as string;
  await request(app)
    .post('/api/energy/payments')
    .set('Ocp-Apim-Subscription-Key', KEY)
    .set('Authorization', `Bearer ${token}`)
    .set('Idempotency-Key', 'b0f3c2a1-1d2e-4f5a-9b8c-7d6e5f4a3b2c')
    .send({
      deviceId: 'not-a-device',
      amountPence: 'lots',
      method: 'CARD',
      paymentToken: 'tok_test_approve',
    });
  await request(app)
    .get('/api/energy/premises')
    .set('Ocp-Apim-Subscription-Key', KEY)
    .set('Accept', 'text/html');
  await request(app)
    .get('/api/energy/premises')
    .set('Ocp-Apim-Subscription-Key', KEY)
    .set('Authorization', `Bearer ${token}`);
  const [refused, ok, invalid, notAcceptable, listed] = requestLines();
  expect(refused).toMatchObject({ level: 20, status: 400, problem: 'invalid-grant', stage: 'handler' });
  expect(ok).toMatchObject({ status: 200, stage: 'handler' });
  expect(invalid).toMatchObject({ status: 400, problem: 'validation-error', stage: 'validate' });
  expect(invalid!.errors).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ in: 'body', pointer: '#/amountPence' }),
      expect.objectContaining({ in: 'body', pointer: '#/deviceId' }),
    ]),
  );
  expect(notAcceptable).toMatchObject({ status: 406, problem: 'not-acceptable', stage: 'negotiation' });
  expect(listed).toMatchObject({ status: 200, operationId: 'ListPremises' });
  const all = lines.join('\n');
  for (const secret of [wrongPassword, basic.password, token, 'not-a-device', 'lots', CLIENT.secret, KEY])
    expect(all).not.toContain(secret);
});

test('the pretty format: one readable line per request, with the problem type', async () => {
  const { app, lines } = mockAt('info', true);
  await request(app).get('/api/energy/premises').set('Ocp-Apim-Subscription-Key', KEY);
  await new Promise((r) => setTimeout(r, 50));
  const text = lines.join('');
  expect(text).toMatch(/INFO.*: GET \/api\/energy\/premises 401 unauthorized \(ListPremises\) \d+\.\d ms/);
  expect(text.trim().split('\n')).toHaveLength(1);
  expect(text).not.toMatch(/^\{"level"/m);
});

test.each([
  [
    { msg: 'request', method: 'GET', route: '/x', status: 200, operationId: 'Op', durationMs: 1.234 },
    'GET /x 200 (Op) 1.2 ms',
  ],
  [
    {
      msg: 'request',
      method: 'POST',
      route: '/y',
      status: 422,
      problem: 'idempotency-key-reused',
      durationMs: 3,
    },
    'POST /y 422 idempotency-key-reused 3.0 ms',
  ],
  [
    { msg: 'procode-mock listening on http://127.0.0.1:4010' },
    'procode-mock listening on http://127.0.0.1:4010',
  ],
])('prettyMessage(%j) is %j', (log, text) => {
  expect(prettyMessage(log, 'msg')).toBe(text);
});

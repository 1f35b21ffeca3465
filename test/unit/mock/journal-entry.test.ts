import { redactEntry, redactedEntryJson } from '../../../mock/scenario/journal';
import type { RawJournalEntry } from '../../../mock/scenario/journal';

/** An entry as the pipeline records it, with the reply body the serializer wrote. */
function entry(body: unknown, extra: Partial<RawJournalEntry> = {}): RawJournalEntry {
  return {
    requestId: 'ba08aa29-17fb-4e1a-b797-dbf1d88573e5',
    at: Date.parse('2026-11-30T16:47:05.025Z'),
    method: 'GET',
    path: '/api/energy/devices/08-92-63-D2-B7-4C-0E-3C/balance',
    operationId: 'GetBalance',
    status: 200,
    accountNumber: 'A-0BA51C01',
    durationMs: 1.2345,
    requestHeaders: {
      host: '127.0.0.1:4010',
      authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
      'ocp-apim-subscription-key': '5f0c0de0c0de4d0c8a5e5a4db0c0de01',
    },
    query: {},
    responseHeaders: { 'x-request-id': 'ba08aa29', 'content-type': 'application/json; charset=utf-8' },
    responseBody: JSON.stringify(body),
    responseBodyIsJson: true,
    ...extra,
  };
}

const nested = (depth: number): unknown => (depth === 0 ? { leaf: 1 } : { next: nested(depth - 1) });

test.each([
  ['a balance', { deviceId: '08-92', creditBalancePence: 4291, emergencyCredit: { active: false } }],
  [
    'a customer with personal fields',
    { email: 'ann@example.com', firstName: 'Ann', mobilePhone: '+447700900123' },
  ],
  ['a token reply', { access_token: 'abc', refresh_token: 'def', token_type: 'Bearer' }],
  ['a secret in another case', { Password: 'x', CODE: '123456' }],
  [
    'a problem (its title names a type)',
    { type: 'https://procode.example/problems/x', title: 'T', instance: 'urn:x' },
  ],
  ['a page of items', { items: Array.from({ length: 40 }, (_, i) => ({ id: i })) }],
  ['a body deeper than redaction goes', nested(40)],
  ['a JSON string', 'just text'],
  ['null', null],
])('the stored text of an entry with %s is that of the redacted entry', (_name, body) => {
  const e = entry(body);
  const text = redactedEntryJson(e);
  expect(text).toBe(JSON.stringify(redactEntry(e)));
  expect(text).not.toContain('eyJhbGciOiJIUzI1NiJ9');
  expect(text).not.toContain('5f0c0de0c0de4d0c8a5e5a4db0c0de01');
});

test("a fault's broken JSON is stored as the text redaction shows, never spliced in", () => {
  const e = entry(undefined, { responseBody: '{"items":[{"malformed": tru', responseBodyIsJson: undefined });
  const text = redactedEntryJson(e);
  expect(text).toBe(JSON.stringify(redactEntry(e)));
  expect(JSON.parse(text)).toMatchObject({ response: { body: '{"items":[{"malformed": tru' } });
});

test('an entry without a body has none', () => {
  const e = entry(undefined, { responseBody: undefined });
  expect(JSON.parse(redactedEntryJson(e)).response).not.toHaveProperty('body');
});

import { CONTRACT_DIR, CompiledContract, loadContract } from '../../contract-kit';

/**
 * Validators are compiled on first use (a fast start); this compiles every one of both contracts, so a
 * schema that ajv's strict mode refuses still fails the tests rather than a client's first request.
 */
test.each(['procode.openapi.yaml', 'admin.openapi.yaml'])('every validator of %s compiles', (file) => {
  const compiled = new CompiledContract(loadContract(CONTRACT_DIR, file));
  expect(() => compiled.compileAll()).not.toThrow();
  const op = [...compiled.operations.values()][0]!;
  expect(op.responses.size).toBeGreaterThan(0);
  expect([...op.responses.values()].every((v) => typeof v === 'function')).toBe(true);
});

test('a validator compiled on first use validates like one compiled at once', () => {
  const compiled = new CompiledContract(loadContract());
  const op = compiled.get('GetBalance');
  expect(op.responses.has('200 application/json')).toBe(true);
  const validate = op.responses.get('200 application/json')!;
  expect(validate({ deviceId: 'x' })).toBe(false);
  expect(op.responses.get('200 application/json')).toBe(validate);
  expect(op.request.path!({ deviceId: '00-DB-12-34-56-78-90-A0' })).toBe(true);
  expect(op.request.path!({ deviceId: 'not-an-eui64' })).toBe(false);
});

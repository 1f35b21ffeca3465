import type { OperationSpec } from '../contract-kit';
import type { RequestSpec, Session } from './session';
import { basicAuthOf } from './flow';

type Json = Record<string, unknown>;

function exampleOf(value: Json | undefined): unknown {
  if (!value) return undefined;
  if (value.example !== undefined) return value.example;
  const first =
    value.examples && typeof value.examples === 'object'
      ? Object.values(value.examples as Json)[0]
      : undefined;
  return first && typeof first === 'object' ? (first as Json).value : undefined;
}

/** A request built only from the contract's own examples (parameters and bodies). */
export function exampleRequest(s: Session, spec: OperationSpec): RequestSpec {
  const raw = (s.contract.contract.document.paths as Json)[spec.path] as Json;
  const opRaw = raw[spec.method] as Json;
  const params = [...((raw.parameters as Json[]) ?? []), ...((opRaw.parameters as Json[]) ?? [])];
  const resolve = (p: Json): Json => {
    if (typeof p.$ref !== 'string') return p;
    const name = p.$ref.split('/').pop()!;
    return ((s.contract.contract.document.components as Json).parameters as Json)[name] as Json;
  };
  const pathParams: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const p of params.map(resolve)) {
    const value = exampleOf(p) ?? exampleOf(p.schema as Json);
    if (value === undefined) continue;
    if (p.in === 'path') pathParams[String(p.name)] = String(value);
    if (p.in === 'header' && p.required) headers[String(p.name)] = String(value);
  }
  const media = spec.requestBody?.content;
  const body = media
    ? exampleOf(((opRaw.requestBody as Json)?.content as Json)?.['application/json'] as Json)
    : undefined;
  // Client authentication the operation's security asks for (TokenRequest, RefreshToken: HTTP Basic).
  const schemes = s.contract.contract.securitySchemes;
  const basic = spec.security.some((alt) =>
    alt.some(
      (name) => schemes[name]?.type === 'http' && String(schemes[name]?.scheme).toLowerCase() === 'basic',
    ),
  );
  if (basic)
    headers.Authorization = basicAuthOf(s.target.credentials.clientId, s.target.credentials.clientSecret);
  return { pathParams, headers, json: body, bearer: 'example-bearer-token' };
}

/**
 * The stateless checks, for a stateless mock (Prism mock of the contract): every operation answered
 * from the contract's examples must conform, and a request without a subscription key must be refused.
 * Shows the contract's own examples are consistent with its schemas.
 */
export async function statelessChecks(s: Session): Promise<void> {
  for (const op of s.contract.operations.values()) {
    const { operationId } = op.spec;
    const spec = exampleRequest(s, op.spec);
    const success = [...op.spec.responses.keys()].filter((x) => x >= 200 && x < 300);
    await s.check(`${operationId}: answered from the contract's examples`, 'stateless', operationId, spec, {
      statuses: success,
    });
    await s.check(
      `${operationId}: no subscription key`,
      'stateless',
      operationId,
      { ...spec, key: false },
      { statuses: [401] },
    );
  }
}

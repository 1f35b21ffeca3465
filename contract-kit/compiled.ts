import type Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import { createAjv } from './ajv';
import type { Contract, OperationSpec, ParameterSpec, Schema } from './load';

/** Request validators of one operation, one per request part; bodies by media type. */
export interface RequestValidators {
  path?: ValidateFunction;
  query?: ValidateFunction;
  header?: ValidateFunction;
  body: Map<string, ValidateFunction>;
}

/** One operation with every validator compiled (once, at start-up). */
export interface CompiledOperation {
  spec: OperationSpec;
  request: RequestValidators;
  /** Response body validators keyed `"<status> <media type>"`. */
  responses: Map<string, ValidateFunction>;
  /** Response header value validators keyed `"<status> <lower-case name>"` (values coerced from strings). */
  responseHeaders: Map<string, ValidateFunction>;
}

function paramSchema(params: ParameterSpec[], where: ParameterSpec['in']): Schema | undefined {
  const list = params.filter((p) => p.in === where);
  if (list.length === 0) return undefined;
  // Header names are case-insensitive (RFC 9110 section 5.1); Node gives them lower-cased.
  const name = (p: ParameterSpec): string => (where === 'header' ? p.name.toLowerCase() : p.name);
  return {
    type: 'object',
    properties: Object.fromEntries(list.map((p) => [name(p), p.schema])),
    required: list.filter((p) => p.required).map(name),
  };
}

/**
 * The contract with every request and response validator compiled. Parameters use a coercing ajv
 * (they arrive as strings); bodies and responses a strict, non-coercing one.
 */
export class CompiledContract {
  readonly operations: Map<string, CompiledOperation> = new Map();
  /** Strict, non-coercing ajv: bodies and responses. */
  readonly ajv: Ajv2020;
  private readonly paramAjv: Ajv2020;

  constructor(readonly contract: Contract) {
    this.ajv = createAjv(contract, false);
    this.paramAjv = createAjv(contract, true);
    for (const spec of contract.operations) {
      const compileParams = (where: ParameterSpec['in']): ValidateFunction | undefined => {
        const schema = paramSchema(spec.parameters, where);
        return schema ? this.paramAjv.compile(schema) : undefined;
      };
      const body = new Map<string, ValidateFunction>();
      for (const [mediaType, media] of spec.requestBody?.content ?? []) {
        if (media.schema) body.set(mediaType, this.ajv.compile(media.schema));
      }
      const responses = new Map<string, ValidateFunction>();
      const responseHeaders = new Map<string, ValidateFunction>();
      for (const [status, response] of spec.responses) {
        for (const [name, header] of response.headers) {
          if (header.schema)
            responseHeaders.set(`${status} ${name.toLowerCase()}`, this.paramAjv.compile(header.schema));
        }
        for (const [mediaType, media] of response.content) {
          if (media.schema) responses.set(`${status} ${mediaType}`, this.ajv.compile(media.schema));
        }
      }
      this.operations.set(spec.operationId, {
        spec,
        request: {
          path: compileParams('path'),
          query: compileParams('query'),
          header: compileParams('header'),
          body,
        },
        responses,
        responseHeaders,
      });
    }
  }

  /** The compiled operation for an operationId. @throws Error for an unknown operationId. */
  get(operationId: string): CompiledOperation {
    const op = this.operations.get(operationId);
    if (!op) throw new Error(`No operation ${operationId} in the contract`);
    return op;
  }
}

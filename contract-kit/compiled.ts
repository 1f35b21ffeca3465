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

/** One operation with its validators (each compiled once, on first use). */
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
 * Validators compiled on first use: `get` compiles the schema of a key once and keeps the function.
 * Compiling the whole contract up front took most of the mock's start-up (about 2 s of 2.5 s on 2 cores);
 * an operation's validators now cost their compile time on its first request instead.
 */
export class LazyValidators extends Map<string, ValidateFunction> {
  private readonly pending = new Map<string, () => ValidateFunction>();

  /** Registers `key`, compiled by `compile` when first asked for. */
  defer(key: string, compile: () => ValidateFunction): void {
    this.pending.set(key, compile);
  }

  override get(key: string): ValidateFunction | undefined {
    const have = super.get(key);
    if (have) return have;
    const compile = this.pending.get(key);
    if (!compile) return undefined;
    const validate = compile();
    super.set(key, validate);
    this.pending.delete(key);
    return validate;
  }

  override has(key: string): boolean {
    return super.has(key) || this.pending.has(key);
  }

  /** Compiles every key still pending (a schema error then shows at once). */
  compileAll(): void {
    for (const key of [...this.pending.keys()]) this.get(key);
  }

  override get size(): number {
    return super.size + this.pending.size;
  }

  override *entries(): MapIterator<[string, ValidateFunction]> {
    this.compileAll();
    yield* super.entries();
  }

  override keys(): MapIterator<string> {
    this.compileAll();
    return super.keys();
  }

  override values(): MapIterator<ValidateFunction> {
    this.compileAll();
    return super.values();
  }

  override [Symbol.iterator](): MapIterator<[string, ValidateFunction]> {
    return this.entries();
  }

  override forEach(
    fn: (value: ValidateFunction, key: string, map: Map<string, ValidateFunction>) => void,
  ): void {
    this.compileAll();
    super.forEach(fn);
  }
}

/** A property compiled on first read, then an ordinary value. */
function lazyProperty<T extends object>(
  target: T,
  name: string,
  compile: () => ValidateFunction | undefined,
): void {
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: true,
    get() {
      const value = compile();
      Object.defineProperty(target, name, { value, enumerable: true, writable: false });
      return value;
    },
  });
}

/**
 * The contract with its request and response validators, each compiled on first use (`LazyValidators`;
 * `compileAll` compiles them all, as the tests do to catch a schema ajv refuses). Parameters use a
 * coercing ajv (they arrive as strings); bodies and responses a strict, non-coercing one.
 */
export class CompiledContract {
  readonly operations: Map<string, CompiledOperation> = new Map();
  private strictAjv?: Ajv2020;
  private coercingAjv?: Ajv2020;

  /** Strict, non-coercing ajv: bodies and responses (made on first use, like the validators). */
  get ajv(): Ajv2020 {
    this.strictAjv ??= createAjv(this.contract, false);
    return this.strictAjv;
  }

  /** Coercing ajv: parameters and response headers, which arrive as strings. */
  private get paramAjv(): Ajv2020 {
    this.coercingAjv ??= createAjv(this.contract, true);
    return this.coercingAjv;
  }

  constructor(readonly contract: Contract) {
    for (const spec of contract.operations) {
      const body = new LazyValidators();
      for (const [mediaType, media] of spec.requestBody?.content ?? []) {
        const { schema } = media;
        if (schema) body.defer(mediaType, () => this.ajv.compile(schema));
      }
      const responses = new LazyValidators();
      const responseHeaders = new LazyValidators();
      for (const [status, response] of spec.responses) {
        for (const [name, header] of response.headers) {
          const { schema } = header;
          if (schema)
            responseHeaders.defer(`${status} ${name.toLowerCase()}`, () => this.paramAjv.compile(schema));
        }
        for (const [mediaType, media] of response.content) {
          const { schema } = media;
          if (schema) responses.defer(`${status} ${mediaType}`, () => this.ajv.compile(schema));
        }
      }
      const request = { body } as RequestValidators;
      for (const where of ['path', 'query', 'header'] as const) {
        const schema = paramSchema(spec.parameters, where);
        if (schema) lazyProperty(request, where, () => this.paramAjv.compile(schema));
      }
      this.operations.set(spec.operationId, { spec, request, responses, responseHeaders });
    }
  }

  /** Compiles every validator of every operation now. @throws Error from ajv for a schema it refuses. */
  compileAll(): void {
    for (const op of this.operations.values()) {
      void op.request.path;
      void op.request.query;
      void op.request.header;
      for (const map of [op.request.body, op.responses, op.responseHeaders])
        if (map instanceof LazyValidators) map.compileAll();
    }
  }

  /** The compiled operation for an operationId. @throws Error for an unknown operationId. */
  get(operationId: string): CompiledOperation {
    const op = this.operations.get(operationId);
    if (!op) throw new Error(`No operation ${operationId} in the contract`);
    return op;
  }
}

import type { CompiledOperation } from '../../contract-kit';

/** A contract path compiled for matching: literal segments and named parameters. */
interface CompiledPath {
  template: string;
  segments: { literal?: string; param?: string }[];
  /** Method (upper case) -> operation. */
  byMethod: Map<string, CompiledOperation>;
  /** The `Allow` header for this path (RFC 9110 section 10.2.1). */
  allow: string;
}

/** The outcome of matching a request line against the contract's paths. */
export type RouteMatch =
  | { kind: 'operation'; operation: CompiledOperation; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'not-found' };

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Not valid percent-encoding: keep it raw; the parameter's pattern will reject it with a 400.
    return segment;
  }
}

/**
 * The route stage: one table compiled from the contract's paths at start-up. Matching is by segment
 * (case-sensitive, one optional trailing slash), parameters are percent-decoded, and a known path with
 * another method gives its `Allow` list. Replaces one Express route per operation: the bench showed
 * Express's linear route walk cost more than the rest of the routing.
 */
export class OperationTable {
  private readonly paths: CompiledPath[] = [];

  constructor(operations: Iterable<CompiledOperation>) {
    const byTemplate = new Map<string, CompiledPath>();
    for (const op of operations) {
      const template = op.spec.path;
      let compiled = byTemplate.get(template);
      if (!compiled) {
        compiled = {
          template,
          segments: template
            .split('/')
            .slice(1)
            .map((s) => {
              const m = /^\{([A-Za-z0-9_]+)\}$/.exec(s);
              return m ? { param: m[1] } : { literal: s };
            }),
          byMethod: new Map(),
          allow: '',
        };
        byTemplate.set(template, compiled);
        this.paths.push(compiled);
      }
      compiled.byMethod.set(op.spec.method.toUpperCase(), op);
    }
    for (const p of this.paths) {
      const methods = [...p.byMethod.keys()];
      if (methods.includes('GET')) methods.push('HEAD');
      methods.push('OPTIONS');
      p.allow = methods.join(', ');
    }
    // Literal segments win over parameters (OpenAPI 3.1 section 4.8.8: concrete paths match first).
    this.paths.sort((a, b) => literalScore(b) - literalScore(a));
  }

  /** Matches `method` and `path` (no query string). HEAD matches a GET operation. */
  match(method: string, path: string): RouteMatch {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const parts = trimmed.split('/').slice(1);
    for (const p of this.paths) {
      if (p.segments.length !== parts.length) continue;
      let params: Record<string, string> | undefined = {};
      for (let i = 0; i < parts.length; i++) {
        const seg = p.segments[i]!;
        const part = parts[i]!;
        if (seg.literal !== undefined) {
          if (seg.literal !== part) {
            params = undefined;
            break;
          }
        } else if (part === '') {
          params = undefined;
          break;
        } else {
          params[seg.param!] = decode(part);
        }
      }
      if (!params) continue;
      const operation = p.byMethod.get(method === 'HEAD' ? 'GET' : method);
      if (operation) return { kind: 'operation', operation, params };
      return { kind: 'method-not-allowed', allow: p.allow };
    }
    return { kind: 'not-found' };
  }
}

function literalScore(p: CompiledPath): number {
  return p.segments.filter((s) => s.literal !== undefined).length;
}

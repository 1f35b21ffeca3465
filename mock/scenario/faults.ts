import { createHash } from 'node:crypto';
import { isoTimestamp } from '../clock';
import type { CompiledContract, CompiledOperation } from '../../contract-kit';
import { PROBLEMS, problem } from '../problem';
import type { FieldError } from '../problem';
import { declaredCodes } from './forced';

/** Most fault rules one mock keeps (the admin contract's `FaultList` bound); spent rules make room first. */
export const MAX_FAULT_RULES = 1000;

/** What a fault rule does to the connection itself (WireMock's faults, bounded). */
export type ConnectionFault = 'connection-reset' | 'empty-reply' | 'malformed-json' | 'hang';

/** A fault rule as `POST /__admin/faults` takes it (admin.openapi.yaml `FaultRuleInput`). */
export interface FaultRuleInput {
  operationId?: string;
  method?: string;
  path?: string;
  /** Only requests whose bearer token belongs to this account. */
  accountNumber?: string;
  /** A status the operation declares: its catalogue problem, with the headers the contract requires. */
  status?: number;
  /** API Management's own answer instead of the service's. */
  gateway?: '429' | '500' | '503';
  /** Milliseconds to wait before answering (0 to 30,000). */
  delayMs?: number;
  fault?: ConnectionFault;
  /** Only the next N matching calls. */
  times?: number;
  /** Chance (0 to 1) that a matching call is affected, drawn from the seed so a run repeats. */
  probability?: number;
}

/** A stored rule (admin.openapi.yaml `FaultRule`). */
export interface FaultRule extends FaultRuleInput {
  faultId: string;
  createdAt: string;
  /** Calls the rule acted on so far. */
  matched: number;
  /** Calls left when `times` was given. */
  remaining?: number;
}

/** A request as fault matching sees it. */
export interface FaultTarget {
  operation: CompiledOperation;
  method: string;
  path: string;
  /** The account of the bearer token, when it has a valid one. */
  accountNumber?: string;
}

function templateMatches(template: string, path: string): boolean {
  const a = template.split('/');
  const b = path.split('/');
  return a.length === b.length && a.every((seg, i) => seg === b[i] || (/^\{.+\}$/.test(seg) && b[i] !== ''));
}

/** A rule's path against a request: the literal path, the operation's template, or another template. */
function pathMatches(rulePath: string, target: FaultTarget): boolean {
  // The router serves a path with one trailing slash as the path without it: so does a rule.
  const path = target.path.length > 1 && target.path.endsWith('/') ? target.path.slice(0, -1) : target.path;
  return (
    rulePath === path ||
    rulePath === target.operation.spec.path ||
    (rulePath.includes('{') && templateMatches(rulePath, path))
  );
}

/**
 * Checks a rule against the contract beyond its schema: the operation exists (by id, or method and
 * path), a `status` is one it declares, at most one of `status`, `gateway` and `fault` is given, and
 * there is room beside `rules` (the stored ones).
 * @throws Problem validation-error (400) naming each field at fault; nothing is stored.
 */
export function validateFaultRule(
  input: FaultRuleInput,
  contract: CompiledContract,
  rules: readonly FaultRule[],
): void {
  const errors: FieldError[] = [];
  const at = (field: string, detail: string): void => {
    errors.push({ in: 'body', pointer: `#/${field}`, detail });
  };
  const ops: CompiledOperation[] = [];
  if (input.operationId !== undefined) {
    const op = contract.operations.get(input.operationId);
    if (op) ops.push(op);
    else
      at(
        'operationId',
        `is not an operationId of the contract (${[...contract.operations.keys()].join(', ')})`,
      );
  }
  if (input.method !== undefined || input.path !== undefined) {
    if (input.method === undefined || input.path === undefined) {
      at(
        input.method === undefined ? 'method' : 'path',
        'is required with ' + (input.method === undefined ? 'path' : 'method'),
      );
    } else {
      const found = [...contract.operations.values()].filter(
        (op) =>
          op.spec.method.toUpperCase() === input.method!.toUpperCase() &&
          (op.spec.path === input.path || templateMatches(op.spec.path, input.path!)),
      );
      if (found.length === 0)
        at('path', `no operation of the contract answers ${input.method} ${input.path}`);
      else if (
        input.operationId !== undefined &&
        !found.some((op) => op.spec.operationId === input.operationId)
      )
        at('path', `is not the path of ${input.operationId}`);
      else if (input.operationId === undefined) ops.push(...found);
    }
  }
  const actions = (['status', 'gateway', 'fault'] as const).filter((k) => input[k] !== undefined);
  if (actions.length > 1)
    at(actions[1]!, `cannot be combined with ${actions[0]}; give one of status, gateway, fault`);
  if (input.status !== undefined) {
    for (const op of ops) {
      if (!op.spec.responses.has(input.status) || input.status < 400)
        at(
          'status',
          `${op.spec.operationId} declares no error status ${input.status}; it declares ${declaredCodes(op)
            .filter((c) => Number(c) >= 400)
            .join(', ')}`,
        );
    }
  }
  if (errors.length === 0 && rules.length >= MAX_FAULT_RULES && !rules.some((r) => r.remaining === 0)) {
    errors.push({
      in: 'body',
      pointer: '#',
      detail: `there are already ${MAX_FAULT_RULES} live fault rules; DELETE /__admin/faults (or one of them) first`,
    });
  }
  if (errors.length > 0) {
    throw problem(
      PROBLEMS.VALIDATION_ERROR,
      `The fault rule is not valid: ${errors.map((e) => `${e.pointer.slice(2)} ${e.detail}`).join('; ')}.`,
      { errors },
    );
  }
}

/** Whether a rule's operation, method, path and account fit the request (not its counters). */
export function ruleMatches(rule: FaultRule, target: FaultTarget): boolean {
  if (rule.operationId !== undefined && rule.operationId !== target.operation.spec.operationId) return false;
  if (rule.method !== undefined && rule.method !== target.method) return false;
  if (rule.path !== undefined && !pathMatches(rule.path, target)) return false;
  if (rule.accountNumber !== undefined && rule.accountNumber !== target.accountNumber) return false;
  return true;
}

/** The seeded draw in [0, 1) for a rule's n-th call: SHA-256 of `<seed>:<faultId>:<n>`. */
export function faultDraw(seed: number, faultId: string, n: number): number {
  const h = createHash('sha256').update(`${seed}:${faultId}:${n}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/**
 * The fault rules of one mock (WireMock's faults and delays, Mockoon's rules), checked after routing and
 * before the gateway. A rule matches an operation (by operationId, or by method and a literal path or
 * path template) and optionally one account; `times` and `probability` bound it. Probabilities are drawn
 * from a hash of the seed, the rule and its call count, so the same calls in the same order repeat.
 */
export class FaultRules {
  private rules: FaultRule[] = [];
  private nextId = 1;
  /** Calls each rule has seen (matched or not by probability), for the seeded draw. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly seed: number) {}

  /** True when no rule is stored (the router skips matching entirely). */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** True when some live rule needs the caller's account (the router then reads the bearer token). */
  get needsAccount(): boolean {
    return this.rules.some((r) => r.accountNumber !== undefined);
  }

  /**
   * Checks a rule against the contract beyond its schema: the operation exists (by id, or method and
   * path), a `status` is one it declares, and at most one of `status`, `gateway` and `fault` is given.
   * @throws Problem validation-error (400) naming each field at fault; nothing is stored.
   */
  validate(input: FaultRuleInput, contract: CompiledContract): void {
    validateFaultRule(input, contract, this.rules);
  }

  /** Stores a rule (already validated) and returns it with its id. */
  add(input: FaultRuleInput, now: number): FaultRule {
    const rule: FaultRule = {
      faultId: `f-${this.nextId++}`,
      ...input,
      ...(input.method !== undefined ? { method: input.method.toUpperCase() } : {}),
      createdAt: isoTimestamp(now),
      matched: 0,
      ...(input.times !== undefined ? { remaining: input.times } : {}),
    };
    if (this.rules.length >= MAX_FAULT_RULES) {
      // validate() made sure there is a spent rule to drop: the oldest one goes.
      const spent = this.rules.findIndex((r) => r.remaining === 0);
      if (spent >= 0) this.rules.splice(spent, 1);
    }
    this.rules.push(rule);
    return rule;
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Removes one rule. @returns false when there is no such rule. */
  remove(faultId: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.faultId !== faultId);
    this.seen.delete(faultId);
    return this.rules.length < before;
  }

  clear(): void {
    this.rules = [];
    this.seen.clear();
    this.nextId = 1;
  }

  /**
   * The first live rule for this request, with its counters updated (the call is counted as matched),
   * or undefined. The oldest rule wins when several match.
   */
  match(target: FaultTarget): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.remaining === 0 || !ruleMatches(rule, target)) continue;
      if (rule.probability !== undefined) {
        const n = this.seen.get(rule.faultId) ?? 0;
        this.seen.set(rule.faultId, n + 1);
        if (faultDraw(this.seed, rule.faultId, n) >= rule.probability) continue;
      }
      rule.matched += 1;
      if (rule.remaining !== undefined) rule.remaining -= 1;
      return rule;
    }
    return undefined;
  }
}

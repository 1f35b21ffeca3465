import type { Request } from 'express';
import type { Config } from '../config';
import type { ScenarioClock } from '../clock';
import type { RandomSource } from '../random';
import type { Prefetched, SharedStore, StoreReads } from '../store';
import type { World } from '../../fixtures/world';
import type { OperationSpec } from '../../contract-kit';
import type { Problem } from '../problem';
import type { Principal } from '../security';
import type { TokenService } from '../auth/tokens';
import type { OtpService } from '../auth/otp';

/** Everything a handler may use; built once per app. */
export interface Services {
  config: Config;
  /** The mock's one clock (the admin API may freeze or move it). */
  clock: ScenarioClock;
  random: RandomSource;
  /** The store (memory or Redis): everything clients change (docs/decisions.md, issue 12). */
  store: SharedStore;
  world: World;
  tokens: TokenService;
  otp: OtpService;
}

/** What a handler gets: the validated request and the services (architecture.md "The mock as a pipeline"). */
export interface HandlerContext {
  operation: OperationSpec;
  /** Path parameters, validated. */
  params: Record<string, unknown>;
  /** Query parameters, validated, coerced, defaults applied. */
  query: Record<string, unknown>;
  /** Declared header parameters (lower-case names), validated. */
  headers: Record<string, unknown>;
  /** The parsed body, validated (never coerced). */
  body: unknown;
  /** The raw `Authorization` header, for client authentication on token requests. */
  authorization?: string;
  /** The caller, when the operation needs a bearer token. */
  principal?: Principal;
  requestId: string;
  services: Services;
  /**
   * What the store read ahead for this request with its snapshot (`HandlerEntry.reads`); pass it to the
   * read it stands for (`store.balance(deviceId, ctx.prefetched)`).
   */
  prefetched?: Prefetched;
}

/** A handler's answer: status, JSON body, extra headers. The serializer writes it. */
export interface Reply {
  status: number;
  /** Media type of the body (default `application/json`). */
  contentType?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A handler: a plain function of its context; it returns a reply or throws a Problem. */
export type Handler = (ctx: HandlerContext) => Reply | Promise<Reply>;

/** Replies with `status` and a JSON body. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

/** The caller of an operation that requires a bearer token. @throws Error when the pipeline did not authenticate. */
export function callerOf(ctx: HandlerContext): Principal {
  if (!ctx.principal) throw new Error(`${ctx.operation.operationId} ran without a principal`);
  return ctx.principal;
}

/** Per-operation hooks beside the handler, for operations whose errors follow another standard. */
export interface HandlerEntry {
  handle: Handler;
  /** Needs nothing of the store (liveness): the pipeline skips `SharedStore.begin`, so it answers while Redis is down. */
  storeless?: boolean;
  /**
   * What the handler will read from the store, from the raw path parameters (before validation), so
   * `SharedStore.begin` reads it with the snapshot: one round trip on Redis instead of two. Only a hint:
   * a value that names nothing reads nothing.
   */
  reads?: (params: Readonly<Record<string, string>>) => StoreReads;
  /** Runs on the parsed body before validation (OAuth2: drop empty parameters, client authentication). */
  prepare?: (body: unknown, req: Request) => unknown;
  /** Rewrites a problem the operation's request caused (OAuth2: add invalid_request / unsupported_grant_type). */
  mapProblem?: (p: Problem) => Problem;
}

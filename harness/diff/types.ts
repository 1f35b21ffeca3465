/**
 * How a change affects consumers of the contract, most severe first. `breaking` fails the diff (exit 1);
 * `potentially-breaking` and `unclassified` fail it only with `--strict`.
 */
export const CLASSIFICATIONS = [
  'breaking',
  'potentially-breaking',
  'unclassified',
  'deprecated',
  'non-breaking',
  'annotation',
] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** Which side of the HTTP exchange a change touches: a consumer sends requests and reads responses. */
export type Direction = 'request' | 'response' | 'operation' | 'document';

/** What changed, in the terms of the policy that classifies it (docs/decisions.md, "Contract diff"). */
export type ChangeKind =
  | 'operation-removed'
  | 'operation-added'
  | 'operation-id-changed'
  | 'status-removed'
  | 'status-added'
  | 'media-type-removed'
  | 'media-type-added'
  | 'field-removed'
  | 'field-added'
  | 'field-required'
  | 'field-optional'
  | 'enum-value-removed'
  | 'enum-value-added'
  | 'enum-value-replaced'
  | 'enum-added'
  | 'enum-dropped'
  | 'type-changed'
  | 'bound-narrowed'
  | 'bound-widened'
  | 'bound-changed'
  | 'parameter-removed'
  | 'parameter-added'
  | 'parameter-changed'
  | 'header-removed'
  | 'header-added'
  | 'header-required'
  | 'header-optional'
  | 'annotation'
  | 'other';

/** The operation a change belongs to. */
export interface OperationRef {
  operationId: string;
  /** Upper case, as in `GET /api/identity/customers/me`. */
  method: string;
  path: string;
}

/** One change between two contracts, classified. */
export interface ContractChange {
  classification: Classification;
  kind: ChangeKind;
  direction: Direction;
  /** Absent for document-level changes (info, servers, security schemes). */
  operation?: OperationRef;
  /**
   * JSON Pointer (RFC 6901) of the changed value in the contract with its `$ref`s followed: in the new
   * contract for an addition, in the old one otherwise.
   */
  pointer: string;
  action: 'add' | 'remove' | 'replace' | 'rename';
  /** The value before (absent for an addition). */
  before?: unknown;
  /** The value after (absent for a removal). */
  after?: unknown;
  /** One line for people: where, what, and why it has this classification when that is not obvious. */
  description: string;
  /** api-smart-diff's own classification of the change, kept to show where this project's policy differs. */
  libraryType: string;
}

/** The result of comparing two contracts. */
export interface ContractDiff {
  /** How the old and the new contract were named (file path or `rev:path`). */
  old: string;
  new: string;
  /** Every change, grouped by classification (in {@link CLASSIFICATIONS} order), then in document order. */
  changes: ContractChange[];
  /** How many changes of each classification. */
  summary: Record<Classification, number>;
}

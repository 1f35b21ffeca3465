import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type SwaggerParser from '@apidevtools/swagger-parser';

/** The contract a bare git revision stands for, relative to the repository's top folder. */
export const DEFAULT_CONTRACT_PATH = 'contracts/procode.openapi.yaml';

/** An OpenAPI document as parsed (a plain JSON value). */
export type OpenApiDocument = Record<string, unknown>;

/** One side of a diff: the bundled document and how to name it in a report. */
export interface ContractSource {
  /** What the user gave, made precise: `contracts/procode.openapi.yaml` or `origin/main:contracts/procode.openapi.yaml`. */
  label: string;
  /** The contract with every external `$ref` inlined (swagger-parser's bundle: only `#/...` references remain). */
  document: OpenApiDocument;
}

/** A `<old>`/`<new>` argument that names nothing readable: the CLI prints its message on one line and exits 2. */
export class DiffInputError extends Error {
  override name = 'DiffInputError';
}

/** The first line of an error message (YAML errors carry a code frame below it). */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}

function git(cwd: string, args: string[]): Buffer {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** Runs git and returns its trimmed output, or undefined when git fails or is missing. */
function tryGit(cwd: string, args: string[]): string | undefined {
  try {
    return git(cwd, args).toString('utf8').trim();
  } catch {
    return undefined;
  }
}

/** The file system path of a URL json-schema-ref-parser hands a resolver (a path, URI-encoded, or a file: URL). */
function toPath(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : decodeURI(url);
}

/**
 * Reads a contract and every file it references with swagger-parser, inlining external `$ref`s
 * (`./schemas/x.json` resolved against the referring file's folder). References over HTTP are refused:
 * a diff reads only what it was given.
 * @param path where the root document is, absolute.
 * @param read how to read a file instead of the file system (used for a git revision).
 * @throws DiffInputError when a file is missing, is not YAML/JSON, or is not an OpenAPI 3 document.
 */
async function bundle(
  path: string,
  label: string,
  read?: (path: string) => Buffer,
): Promise<OpenApiDocument> {
  // Loaded here, not at the top: `procode-mock serve` imports the harness CLI and need not load these.
  const { default: parser } = await import('@apidevtools/swagger-parser');
  const options: SwaggerParser.Options = read
    ? {
        resolve: {
          http: false,
          file: { order: 1, canRead: true, read: (file: SwaggerParser.FileInfo) => read(toPath(file.url)) },
        },
      }
    : { resolve: { http: false } };
  let document: OpenApiDocument;
  try {
    document = (await parser.bundle(path, options)) as unknown as OpenApiDocument;
  } catch (err) {
    // swagger-parser's words for YAML that is not an object, and for an object that is not an API.
    if (/is not a valid (JSON Schema|Openapi API definition)/.test(firstLine(err))) {
      throw new DiffInputError(`${label} is not an OpenAPI document`);
    }
    throw new DiffInputError(`cannot read ${label}: ${firstLine(err)}`);
  }
  if (typeof document.openapi !== 'string' || !/^3\.[01]\./.test(document.openapi)) {
    throw new DiffInputError(`${label} is not an OpenAPI 3.0 or 3.1 document`);
  }
  return document;
}

/**
 * Loads one side of a diff. The rule that tells a file from a git revision:
 * 1. an existing file is that file (YAML or JSON; relative `$ref`s resolve against its folder);
 * 2. otherwise `REV:PATH` is the file PATH at revision REV (PATH from the repository's top folder, or
 *    from the current folder when it starts with `./` or `../`, as git reads it);
 * 3. otherwise a revision git knows (`main`, `origin/main`, `HEAD~1`, a tag or a commit) stands for
 *    {@link DEFAULT_CONTRACT_PATH} at that revision.
 * Files referenced by a contract read from a revision are read from the same revision (`git cat-file`),
 * never from the working tree; nothing is written to disk.
 * @param spec the argument as given (`contracts/procode.openapi.yaml`, `main`, `HEAD~1:contracts/admin.openapi.yaml`).
 * @param cwd the folder relative paths and the git repository are found from.
 * @throws DiffInputError when `spec` names nothing readable; its message is one line.
 */
export async function loadContractSource(spec: string, cwd: string = process.cwd()): Promise<ContractSource> {
  if (spec.trim() === '') throw new DiffInputError('an empty argument names no contract');
  const asFile = resolve(cwd, spec);
  if (existsSync(asFile)) {
    if (statSync(asFile).isDirectory()) {
      throw new DiffInputError(
        `${spec} is a folder: name the contract file in it, e.g. ${join(spec, 'procode.openapi.yaml')}`,
      );
    }
    return { label: spec, document: await bundle(asFile, spec) };
  }

  const colon = spec.indexOf(':');
  if (colon < 0 && /\.(ya?ml|json)$/i.test(spec)) throw new DiffInputError(`no such file: ${spec}`);
  const rev = colon > 0 ? spec.slice(0, colon) : spec;
  let path = colon > 0 ? spec.slice(colon + 1) : DEFAULT_CONTRACT_PATH;
  if (rev.startsWith('-')) throw new DiffInputError(`${spec} is neither a file nor a git revision`);
  const top = tryGit(cwd, ['rev-parse', '--show-toplevel']);
  if (top === undefined) {
    throw new DiffInputError(
      `${spec} is not a file, and ${cwd} is not in a git repository (or git is missing)`,
    );
  }
  const commit = tryGit(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  if (!commit) throw new DiffInputError(`${spec} is neither a file nor a git revision`);
  if (path === '') path = DEFAULT_CONTRACT_PATH;
  if (path.startsWith('./') || path.startsWith('../')) path = relative(top, resolve(cwd, path));
  path = path.split(sep).join('/');
  const label = `${rev}:${path}`;
  if (tryGit(top, ['cat-file', '-e', `${commit}:${path}`]) === undefined) {
    throw new DiffInputError(`${path} does not exist at ${rev}`);
  }
  // The document is read as if it sat in the working tree, so its relative `$ref`s resolve to paths in
  // the repository; each such path is then read from the commit.
  const read = (file: string): Buffer => {
    const inRepo = relative(top, file);
    if (inRepo.startsWith('..') || isAbsolute(inRepo)) {
      throw new Error(`${file} is outside the repository, so it cannot be read at ${rev}`);
    }
    const gitPath = inRepo.split(sep).join('/');
    try {
      return git(top, ['cat-file', 'blob', `${commit}:${gitPath}`]);
    } catch {
      throw new Error(`${gitPath} does not exist at ${rev}`);
    }
  };
  return { label, document: await bundle(join(top, path), label, read) };
}

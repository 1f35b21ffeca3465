#!/usr/bin/env node
// Generates the Postman collection from the contract with Portman (README "A Postman collection
// (Portman + Newman)"): the contract bundled as one JSON document, as /docs/openapi.json serves it,
// converted by Portman with postman/portman-config.json (contract tests, the login and id flow) and
// postman/postman-config.json (openapi-to-postman's options), written to
// postman/procode.postman_collection.json. Everything runs offline: a local spec file, no upload to
// Postman (--syncPostman is never passed), and Portman runs in a temporary folder of its own, so its
// ./tmp working files and a stray .env never touch the repository.
//
//   node scripts/postman.js [--out <file>] [--spec <bundled openapi.json|yaml>] [--base-url <url>]
//
// Without --spec the contract is read from contracts/ and bundled by the mock's own bundleContract
// (dist/, so `npm run build` first; `npm run postman:generate` does both). With --spec, a document
// already bundled, e.g. `curl -s http://127.0.0.1:4010/docs/openapi.json > openapi.json`. --base-url sets
// the collection's own `baseUrl` (default: the mock of `npm start`); an environment's `baseUrl` wins.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join, resolve } = require('node:path');

const ROOT = join(__dirname, '..');
const POSTMAN_DIR = join(ROOT, 'postman');
const DEFAULT_OUT = join(POSTMAN_DIR, 'procode.postman_collection.json');
/** The collection's own `baseUrl` variable: the mock of `npm start`. An environment's `baseUrl` wins. */
const DEFAULT_BASE_URL = 'http://127.0.0.1:4010';
/**
 * Left out of the collection: they need the `two-factor` persona and a one-time code that only a person
 * (or the mock's /__admin/outbox) can read, and SendOTP sends a real SMS on a real environment. The
 * README's walkthrough and the contract harness cover them.
 */
const EXCLUDED_OPERATIONS = ['SendOTP', 'VerifyOTP'];
/** Formats of the contract that Postman's validator (ajv 6 in the sandbox) does not know: not checked there. */
const DOMAIN_FORMATS = ['mpan-core', 'mprn', 'utrn'];
/** A fixed collection id, so that importing a regenerated collection replaces the earlier import. */
const COLLECTION_ID = '6f1d3c2e-8a4b-4c5d-9e7f-0a1b2c3d4e5f';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseArgs(argv) {
  const args = { out: DEFAULT_OUT, spec: undefined, baseUrl: DEFAULT_BASE_URL };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === '--out' || flag === '--spec') && value !== undefined) {
      args[flag.slice(2)] = resolve(value);
      i++;
    } else if (flag === '--base-url' && value !== undefined) {
      args.baseUrl = value.replace(/\/+$/, '');
      i++;
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'usage: node scripts/postman.js [--out <file>] [--spec <bundled openapi.json>] [--base-url <url>]\n',
      );
      process.exit(0);
    } else {
      process.stderr.write(`postman: unknown argument ${flag} (see --help)\n`);
      process.exit(2);
    }
  }
  return args;
}

/** The contract as one JSON document: the mock's bundleContract over contracts/ (from dist/). */
function bundledContract() {
  let contract, docs;
  try {
    contract = require(join(ROOT, 'dist', 'contract-kit'));
    docs = require(join(ROOT, 'dist', 'mock', 'docs'));
  } catch (err) {
    throw new Error(`dist/ is missing or stale (${err.message}): run npm run build first, or pass --spec`, {
      cause: err,
    });
  }
  return docs.bundleContract(contract.loadContract(contract.CONTRACT_DIR, 'procode.openapi.yaml'), {
    requestIds: 'template',
  });
}

/**
 * JSON Schema 2020-12 tuples in the draft-07 words of Postman's validator (ajv 6 in the sandbox):
 * `prefixItems` becomes `items` (an array) and a 2020-12 `items` (the rest) becomes `additionalItems`.
 * The same constraint; without it ajv 6 ignores `prefixItems` and reads `items: false` as "no items".
 * Examples are data and are left alone.
 */
function draft07Tuples(node) {
  if (Array.isArray(node)) return node.map(draft07Tuples);
  if (!isObject(node)) return node;
  const out = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === 'example' || k === 'examples' ? v : draft07Tuples(v);
  if (Array.isArray(out.prefixItems)) {
    if ('items' in out) out.additionalItems = out.items;
    out.items = out.prefixItems;
    delete out.prefixItems;
  }
  return out;
}

/** The document Portman reads: the excluded operations (and tags left empty) out, tuples for draft 07. */
function forPostman(bundled, baseUrl = DEFAULT_BASE_URL) {
  const doc = JSON.parse(JSON.stringify(bundled));
  doc.servers = [{ url: baseUrl, description: 'The default base URL; an environment sets baseUrl' }];
  const used = new Set();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      if (EXCLUDED_OPERATIONS.includes(op.operationId)) delete item[method];
      else for (const tag of op.tags ?? []) used.add(tag);
    }
    if (!METHODS.some((m) => m in item)) delete doc.paths[path];
  }
  if (Array.isArray(doc.tags)) doc.tags = doc.tags.filter((t) => used.has(t.name));
  doc.components = draft07Tuples(doc.components ?? {});
  doc.paths = draft07Tuples(doc.paths);
  return doc;
}

/**
 * Drops what changes on every run (the random ids of items, events and scripts, which Postman makes again
 * on import) and fixes the collection's id, so the committed file changes only when the contract does.
 */
function normalise(collection) {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const strip = (node) => {
    if (Array.isArray(node)) node.forEach(strip);
    else if (isObject(node))
      for (const [k, v] of Object.entries(node)) {
        if (k === 'id' && typeof v === 'string' && UUID.test(v)) delete node[k];
        else strip(v);
      }
  };
  strip(collection.item);
  strip(collection.event);
  delete collection._;
  collection.info._postman_id = COLLECTION_ID;
  return collection;
}

/** The requests of a collection, in the order a run sends them. */
function requestsOf(collection) {
  const out = [];
  const walk = (items) => {
    for (const item of items ?? []) {
      if (item.item) walk(item.item);
      else if (item.request) out.push(item);
    }
  };
  walk(collection.item);
  return out;
}

/** Operations whose response is not schema-checked in the collection (Portman disables it and says why). */
function unvalidated(collection) {
  const found = [];
  const walk = (items) => {
    for (const item of items ?? []) {
      if (item.item) walk(item.item);
      const test = (item.event ?? []).find((e) => e.listen === 'test');
      const script = test ? [].concat(test.script.exec).join('\n') : '';
      const why = /\/\/ Response Validation - Disabled due to (.*)/.exec(script);
      if (why) found.push(`${item.name}: ${why[1]}`);
    }
  };
  walk(collection.item);
  return found;
}

async function generate({ out = DEFAULT_OUT, spec, baseUrl = DEFAULT_BASE_URL } = {}) {
  // A single-document contract, JSON or YAML (the yaml package reads both).
  const bundled = spec ? require('yaml').parse(readFileSync(spec, 'utf8')) : bundledContract();
  if (!isObject(bundled) || !isObject(bundled.paths))
    throw new Error(`${spec ?? 'the bundled contract'} is not an OpenAPI document (no paths)`);
  const work = mkdtempSync(join(tmpdir(), 'procode-portman-'));
  try {
    const specFile = join(work, 'openapi.json');
    const collectionFile = join(work, 'collection.json');
    writeFileSync(specFile, JSON.stringify(forPostman(bundled, baseUrl), null, 2));
    const portman = require.resolve('@apideck/portman/bin/portman');
    const run = spawnSync(
      process.execPath,
      [
        portman,
        '--local',
        specFile,
        '--output',
        collectionFile,
        '--portmanConfigFile',
        join(POSTMAN_DIR, 'portman-config.json'),
        '--postmanConfigFile',
        join(POSTMAN_DIR, 'postman-config.json'),
        '--envFile',
        join(work, '.env'),
        '--includeTests',
        'true',
        // The scripts that store the token and ids do not print their values.
        '--logAssignVariables',
        'false',
        ...DOMAIN_FORMATS.flatMap((f) => ['--extraUnknownFormats', f]),
      ],
      {
        // Portman writes ./tmp/{working,converted,newman} and reads ./.env in its working folder.
        cwd: work,
        // No PORTMAN_* variables (Portman would put them in the collection) and no POSTMAN_API_KEY.
        env: { PATH: process.env.PATH ?? '', HOME: work, NO_COLOR: '1', FORCE_COLOR: '0' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    if (run.status !== 0 || run.error)
      throw new Error(`Portman failed (${run.error ?? `exit ${run.status}`}):\n${run.stdout}${run.stderr}`);
    const collection = normalise(JSON.parse(readFileSync(collectionFile, 'utf8')));
    const prettier = require('prettier');
    // The repository's Prettier settings, wherever the file goes, so every copy is byte for byte the same.
    const options = (await prettier.resolveConfig(DEFAULT_OUT)) ?? {};
    writeFileSync(out, await prettier.format(JSON.stringify(collection), { ...options, parser: 'json' }));
    return { collection, out, unvalidated: unvalidated(collection) };
  } finally {
    rmSync(work, { recursive: true, force: true });
    // Portman's own clean-up empties and removes <its package>/tmp/working but leaves tmp/ itself.
    try {
      rmdirSync(join(dirname(dirname(require.resolve('@apideck/portman/bin/portman'))), 'tmp'));
    } catch {
      // Not there, or not empty (then it is not ours to remove).
    }
  }
}

module.exports = { generate, forPostman, requestsOf, EXCLUDED_OPERATIONS };

if (require.main === module) {
  generate(parseArgs(process.argv.slice(2))).then(
    ({ collection, out, unvalidated: skipped }) => {
      process.stdout.write(`postman: ${requestsOf(collection).length} requests written to ${out}\n`);
      for (const line of skipped)
        process.stdout.write(`postman: warning: no response validation for ${line}\n`);
    },
    (err) => {
      process.stderr.write(`postman: ${err.message}\n`);
      process.exit(1);
    },
  );
}

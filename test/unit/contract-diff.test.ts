import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../harness/cli';
import { diffContracts, loadContractSource, runDiff } from '../../harness/diff';
import type { ContractChange, DiffCommandOptions } from '../../harness/diff';
import { CONTRACT_DIR } from '../../contract-kit';
import { tempDir } from '../helpers/temp';

/* eslint-disable @typescript-eslint/no-explicit-any -- documents are plain JSON, edited in place */
type Doc = Record<string, any>;

/**
 * A small OpenAPI 3.1 contract with one of each thing a change can touch: a path-level and a query
 * parameter, a closed request object and an open one, a response with a header, two statuses and an enum.
 */
function contract(): Doc {
  return {
    openapi: '3.1.0',
    info: { title: 'Items', version: '1.0.0' },
    paths: {
      '/items/{itemId}': {
        parameters: [
          { name: 'itemId', in: 'path', required: true, schema: { type: 'string', maxLength: 10 } },
        ],
        get: {
          operationId: 'GetItem',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 100 },
            },
          ],
          responses: {
            '200': {
              description: 'The item.',
              headers: { 'X-Request-ID': { required: true, schema: { type: 'string' } } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } },
            },
            '404': {
              description: 'No such item.',
              content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
            },
          },
        },
      },
      '/items': {
        post: {
          operationId: 'CreateItem',
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/ItemRequest' } },
              'application/x-www-form-urlencoded': { schema: { $ref: '#/components/schemas/Form' } },
            },
          },
          responses: {
            '201': {
              description: 'Created.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Receipt' } } },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Item: {
          type: 'object',
          additionalProperties: false,
          required: ['itemId', 'status', 'count'],
          properties: {
            itemId: { type: 'string', description: 'The item.' },
            status: { type: 'string', enum: ['NEW', 'SOLD'] },
            count: { type: 'integer', minimum: 0 },
            note: { type: 'string', maxLength: 100 },
          },
        },
        ItemRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', maxLength: 100 },
            quantity: { type: 'integer', minimum: 1, maximum: 10 },
            colour: { type: 'string', enum: ['RED', 'BLUE'] },
            note: { type: 'string' },
          },
        },
        Form: { type: 'object', properties: { name: { type: 'string' }, extra: { type: 'string' } } },
        Receipt: {
          type: 'object',
          properties: {
            codes: {
              type: 'array',
              prefixItems: [{ const: 'FIRST' }, { type: 'string' }],
              items: false,
            },
          },
        },
        Problem: { type: 'object', properties: { title: { type: 'string' } } },
      },
    },
  };
}

const schemas = (d: Doc): Doc => d.components.schemas;
const getItem = (d: Doc): Doc => d.paths['/items/{itemId}'].get;
const createItem = (d: Doc): Doc => d.paths['/items'].post;

/** What a pair pins: the one change expected (as [classification, kind, direction, operationId]) and its text. */
interface Pair {
  name: string;
  change: (d: Doc) => void;
  expected: [ContractChange['classification'], ContractChange['kind'], ContractChange['direction'], string?];
  description: RegExp;
  pointer?: string;
}

const PAIRS: Pair[] = [
  // Breaking for consumers.
  {
    name: 'an operation removed',
    change: (d) => delete d.paths['/items'],
    expected: ['breaking', 'operation-removed', 'operation', 'CreateItem'],
    description: /^operation removed$/,
    pointer: '/paths/~1items/post',
  },
  {
    name: 'an operationId renamed (the library calls it an annotation)',
    change: (d) => (createItem(d).operationId = 'AddItem'),
    expected: ['breaking', 'operation-id-changed', 'operation', 'CreateItem'],
    description: /operationId changed: `"CreateItem"` → `"AddItem"`/,
  },
  {
    name: 'an optional response field removed (the library: non-breaking)',
    change: (d) => delete schemas(d).Item.properties.note,
    expected: ['breaking', 'field-removed', 'response', 'GetItem'],
    description: /^response 200 \(application\/json\): field `note` removed$/,
    pointer: '/paths/~1items~1{itemId}/get/responses/200/content/application~1json/schema/properties/note',
  },
  {
    name: 'a required response field removed (one change, not also "made optional")',
    change: (d) => {
      delete schemas(d).Item.properties.count;
      schemas(d).Item.required = ['itemId', 'status'];
    },
    expected: ['breaking', 'field-removed', 'response', 'GetItem'],
    description: /field `count` removed \(it was required\)$/,
  },
  {
    name: 'a response field made optional',
    change: (d) => (schemas(d).Item.required = ['itemId', 'status']),
    expected: ['breaking', 'field-optional', 'response', 'GetItem'],
    description: /field `count` made optional/,
  },
  {
    name: 'a response enum value removed (the library: non-breaking)',
    change: (d) => (schemas(d).Item.properties.status.enum = ['NEW']),
    expected: ['breaking', 'enum-value-removed', 'response', 'GetItem'],
    description: /response 200 \(application\/json\) `status`: enum value `"SOLD"` removed/,
  },
  {
    name: 'a response status removed',
    change: (d) => delete getItem(d).responses['404'],
    expected: ['breaking', 'status-removed', 'response', 'GetItem'],
    description: /^response 404 removed$/,
    pointer: '/paths/~1items~1{itemId}/get/responses/404',
  },
  {
    name: 'a response media type dropped',
    change: (d) => delete getItem(d).responses['404'].content['application/problem+json'],
    expected: ['breaking', 'media-type-removed', 'response', 'GetItem'],
    description: /^response 404: media type `application\/problem\+json` dropped$/,
  },
  {
    name: 'a request media type dropped',
    change: (d) => delete createItem(d).requestBody.content['application/x-www-form-urlencoded'],
    expected: ['breaking', 'media-type-removed', 'request', 'CreateItem'],
    description: /^request body: media type `application\/x-www-form-urlencoded` dropped$/,
  },
  {
    name: 'a response header removed',
    change: (d) => delete getItem(d).responses['200'].headers['X-Request-ID'],
    expected: ['breaking', 'header-removed', 'response', 'GetItem'],
    description: /header `X-Request-ID` removed/,
  },
  {
    name: 'a request field made required',
    change: (d) => (schemas(d).ItemRequest.required = ['name', 'quantity']),
    expected: ['breaking', 'field-required', 'request', 'CreateItem'],
    description: /^request body \(application\/json\): field `quantity` made required$/,
  },
  {
    name: 'a required request field added (one change, not also "made required")',
    change: (d) => {
      schemas(d).ItemRequest.properties.size = { type: 'string' };
      schemas(d).ItemRequest.required = ['name', 'size'];
    },
    expected: ['breaking', 'field-added', 'request', 'CreateItem'],
    description: /required field `size` added/,
  },
  {
    name: 'a request type changed',
    change: (d) => (schemas(d).ItemRequest.properties.quantity.type = 'string'),
    expected: ['breaking', 'type-changed', 'request', 'CreateItem'],
    description: /`quantity`: type changed: integer → string/,
  },
  {
    name: 'a response type changed (the library: non-breaking)',
    change: (d) => (schemas(d).Item.properties.count.type = 'string'),
    expected: ['breaking', 'type-changed', 'response', 'GetItem'],
    description: /`count`: type changed: integer → string/,
  },
  {
    name: 'a request bound narrowed: maxLength 100 -> 50',
    change: (d) => (schemas(d).ItemRequest.properties.name.maxLength = 50),
    expected: ['breaking', 'bound-narrowed', 'request', 'CreateItem'],
    description: /`name`: `maxLength` lowered: `100` → `50`/,
    pointer: '/paths/~1items/post/requestBody/content/application~1json/schema/properties/name/maxLength',
  },
  {
    name: 'a request bound narrowed: minimum raised',
    change: (d) => (schemas(d).ItemRequest.properties.quantity.minimum = 2),
    expected: ['breaking', 'bound-narrowed', 'request', 'CreateItem'],
    description: /`quantity`: `minimum` raised: `1` → `2`/,
  },
  {
    name: 'a request bound narrowed: pattern added',
    change: (d) => (schemas(d).ItemRequest.properties.note.pattern = '^[a-z]+$'),
    expected: ['breaking', 'bound-narrowed', 'request', 'CreateItem'],
    description: /`note`: `pattern` added: `"\^\[a-z\]\+\$"`/,
  },
  {
    name: 'a parameter bound narrowed: maximum lowered',
    change: (d) => (getItem(d).parameters[0].schema.maximum = 50),
    expected: ['breaking', 'bound-narrowed', 'request', 'GetItem'],
    description: /^query parameter `limit`: `maximum` lowered: `100` → `50`$/,
    pointer: '/paths/~1items~1{itemId}/get/parameters/0/schema/maximum',
  },
  {
    name: 'a path-level parameter bound narrowed (located where it is declared)',
    change: (d) => (d.paths['/items/{itemId}'].parameters[0].schema.maxLength = 5),
    expected: ['breaking', 'bound-narrowed', 'request', 'GetItem'],
    description: /^path parameter `itemId`: `maxLength` lowered: `10` → `5`$/,
    pointer: '/paths/~1items~1{itemId}/parameters/0/schema/maxLength',
  },
  {
    name: 'a request enum value removed',
    change: (d) => (schemas(d).ItemRequest.properties.colour.enum = ['RED']),
    expected: ['breaking', 'enum-value-removed', 'request', 'CreateItem'],
    description: /`colour`: enum value `"BLUE"` removed/,
  },
  {
    name: 'a request field limited to an enum (the library: non-breaking)',
    change: (d) => (schemas(d).ItemRequest.properties.note.enum = ['A', 'B']),
    expected: ['breaking', 'enum-added', 'request', 'CreateItem'],
    description: /`note`: now limited to `\["A","B"\]`/,
    pointer: '/paths/~1items/post/requestBody/content/application~1json/schema/properties/note/enum',
  },
  {
    name: 'a field removed from a closed request object (clients that send it are rejected)',
    change: (d) => delete schemas(d).ItemRequest.properties.note,
    expected: ['breaking', 'field-removed', 'request', 'CreateItem'],
    description: /field `note` removed; the object is closed/,
  },
  {
    name: 'a query parameter made required',
    change: (d) => (getItem(d).parameters[0].required = true),
    expected: ['breaking', 'parameter-changed', 'request', 'GetItem'],
    description: /^query parameter `limit` made required$/,
  },
  {
    name: 'a constant inside prefixItems changed (a 2020-12 keyword the library leaves unclassified)',
    change: (d) => (schemas(d).Receipt.properties.codes.prefixItems[0].const = 'PRIMARY'),
    expected: ['breaking', 'enum-value-replaced', 'response', 'CreateItem'],
    description: /`codes\[0\]`: constant value changed: `"FIRST"` → `"PRIMARY"`/,
  },
  {
    name: 'a response header made optional (the library: non-breaking)',
    change: (d) => (getItem(d).responses['200'].headers['X-Request-ID'].required = false),
    expected: ['breaking', 'header-optional', 'response', 'GetItem'],
    description: /^response 200 header `X-Request-ID` made optional$/,
  },
  // Potentially breaking: consumers may meet values they never saw.
  {
    name: 'a response enum value added (the library: breaking)',
    change: (d) => (schemas(d).Item.properties.status.enum = ['NEW', 'SOLD', 'LOST']),
    expected: ['potentially-breaking', 'enum-value-added', 'response', 'GetItem'],
    description: /`status`: enum value `"LOST"` added/,
  },
  {
    name: 'a response bound widened: maxLength raised',
    change: (d) => (schemas(d).Item.properties.note.maxLength = 200),
    expected: ['potentially-breaking', 'bound-widened', 'response', 'GetItem'],
    description: /`note`: `maxLength` raised: `100` → `200`/,
  },
  {
    name: 'a response field no longer limited to an enum',
    change: (d) => delete schemas(d).Item.properties.status.enum,
    expected: ['potentially-breaking', 'enum-dropped', 'response', 'GetItem'],
    description: /`status`: no longer limited to `\["NEW","SOLD"\]`/,
  },
  // Safe.
  {
    name: 'a security scheme added, not yet required anywhere (the library: breaking)',
    change: (d) => (d.components.securitySchemes = { key: { type: 'apiKey', in: 'header', name: 'X-Key' } }),
    expected: ['non-breaking', 'other', 'document'],
    description: /^security scheme `key` added$/,
  },
  {
    name: 'a field added to a response',
    change: (d) => (schemas(d).Item.properties.colour = { type: 'string' }),
    expected: ['non-breaking', 'field-added', 'response', 'GetItem'],
    description: /optional field `colour` added/,
  },
  {
    name: 'an optional request field added',
    change: (d) => (schemas(d).ItemRequest.properties.size = { type: 'string' }),
    expected: ['non-breaking', 'field-added', 'request', 'CreateItem'],
    description: /^request body \(application\/json\): optional field `size` added$/,
  },
  {
    name: 'a request bound widened: maxLength raised',
    change: (d) => (schemas(d).ItemRequest.properties.name.maxLength = 200),
    expected: ['non-breaking', 'bound-widened', 'request', 'CreateItem'],
    description: /`maxLength` raised: `100` → `200`/,
  },
  {
    name: 'a request type widened: integer -> number (the library: breaking)',
    change: (d) => (schemas(d).ItemRequest.properties.quantity.type = 'number'),
    expected: ['non-breaking', 'type-changed', 'request', 'CreateItem'],
    description: /type widened: integer → number/,
  },
  {
    name: 'a request enum value added',
    change: (d) => (schemas(d).ItemRequest.properties.colour.enum = ['RED', 'BLUE', 'GREEN']),
    expected: ['non-breaking', 'enum-value-added', 'request', 'CreateItem'],
    description: /enum value `"GREEN"` added$/,
  },
  {
    name: 'a field removed from an open request object (ignored if sent)',
    change: (d) => delete schemas(d).Form.properties.extra,
    expected: ['non-breaking', 'field-removed', 'request', 'CreateItem'],
    description:
      /^request body \(application\/x-www-form-urlencoded\): field `extra` removed; the object is open/,
  },
  {
    name: 'a response status added',
    change: (d) => (getItem(d).responses['410'] = { description: 'Gone.' }),
    expected: ['non-breaking', 'status-added', 'response', 'GetItem'],
    description: /^response 410 added$/,
  },
  {
    name: 'an operation added',
    change: (d) =>
      (d.paths['/items'].get = { operationId: 'ListItems', responses: { '200': { description: 'ok' } } }),
    expected: ['non-breaking', 'operation-added', 'operation', 'ListItems'],
    description: /^operation added$/,
  },
  {
    name: 'a description changed',
    change: (d) => (schemas(d).Item.properties.itemId.description = "The item's identifier."),
    expected: ['annotation', 'annotation', 'response', 'GetItem'],
    description: /`itemId`: `description` changed/,
  },
];

test.each(PAIRS.map((p) => [p.name, p] as const))('%s', async (_name, pair) => {
  const after = contract();
  pair.change(after);
  const diff = await diffContracts(contract(), after);
  const [classification, kind, direction, operationId] = pair.expected;
  // Exactly one change, classified as pinned (so a pair cannot pass on a stray second change).
  expect(diff.changes.map((c) => [c.classification, c.kind, c.direction, c.operation?.operationId])).toEqual([
    [classification, kind, direction, operationId],
  ]);
  const [change] = diff.changes;
  expect(change!.description).toMatch(pair.description);
  if (pair.pointer) expect(change!.pointer).toBe(pair.pointer);
  expect(diff.summary[classification]).toBe(1);
});

test('a change to a shared schema is reported once per operation and media type that uses it', async () => {
  const after = contract();
  schemas(after).Item.properties.status.enum = ['NEW'];
  createItem(after).responses['201'].content['application/json'].schema = {
    $ref: '#/components/schemas/Item',
  };
  const before = contract();
  createItem(before).responses['201'].content['application/json'].schema = {
    $ref: '#/components/schemas/Item',
  };
  const diff = await diffContracts(before, after);
  expect(diff.changes.map((c) => `${c.operation?.operationId} ${c.kind}`)).toEqual([
    'GetItem enum-value-removed',
    'CreateItem enum-value-removed',
  ]);
});

test('a contract compared with itself has no changes', async () => {
  const diff = await diffContracts(contract(), contract());
  expect(diff.changes).toEqual([]);
});

describe('files and git revisions', () => {
  /** A contract folder like contracts/: the document and a schema file it references. */
  function writeContract(dir: string, maxLength: number): string {
    mkdirSync(join(dir, 'schemas'), { recursive: true });
    const doc = contract();
    schemas(doc).ItemRequest = { $ref: './schemas/item-request.json' };
    const request = contract().components.schemas.ItemRequest;
    request.properties.name.maxLength = maxLength;
    writeFileSync(join(dir, 'schemas', 'item-request.json'), JSON.stringify(request, null, 2));
    writeFileSync(join(dir, 'items.openapi.json'), JSON.stringify(doc, null, 2));
    return join(dir, 'items.openapi.json');
  }

  /** Captures what runDiff prints. */
  async function run(
    oldSpec: string,
    newSpec: string,
    cwd: string,
    options: Partial<DiffCommandOptions> = {},
  ) {
    let stdout = '';
    let stderr = '';
    const code = await runDiff(
      oldSpec,
      newSpec,
      { format: 'markdown', strict: false, ...options },
      { cwd, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    );
    return { code, stdout, stderr };
  }

  test('a relative $ref resolves against the referring file, and the change is found inside it', async () => {
    const dir = tempDir('procode-diff-files-');
    const before = writeContract(join(dir, 'old'), 100);
    writeContract(join(dir, 'new'), 50);
    // Bundled: the schema file is inlined, only internal references remain.
    const source = await loadContractSource(before, dir);
    expect(JSON.stringify(source.document)).not.toContain('item-request.json');
    expect((source.document as Doc).components.schemas.ItemRequest.properties.name.maxLength).toBe(100);
    const out = await run('old/items.openapi.json', 'new/items.openapi.json', dir);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('# Contract diff: `old/items.openapi.json` → `new/items.openapi.json`');
    expect(out.stdout).toMatch(/^\*\*Breaking for consumers\*\* \(1 breaking, /m);
    expect(out.stdout).toContain(
      '- **CreateItem** `POST /items`: request body (application/json) `name`: `maxLength` lowered: `100` → `50` ' +
        '(`/paths/~1items/post/requestBody/content/application~1json/schema/properties/name/maxLength`)',
    );
  });

  test('--format json prints the report for machines; --json and --markdown write both reports', async () => {
    const dir = tempDir('procode-diff-json-');
    writeContract(join(dir, 'old'), 100);
    writeContract(join(dir, 'new'), 200);
    const out = await run('old/items.openapi.json', 'new/items.openapi.json', dir, {
      format: 'json',
      json: 'reports/diff.json',
      markdown: 'reports/diff.md',
    });
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({
      breaking: false,
      failed: false,
      summary: { breaking: 0, 'non-breaking': 1 },
    });
    expect(report.changes).toEqual([
      expect.objectContaining({
        classification: 'non-breaking',
        kind: 'bound-widened',
        direction: 'request',
        operation: { operationId: 'CreateItem', method: 'POST', path: '/items' },
        before: 100,
        after: 200,
        libraryType: 'non-breaking',
      }),
    ]);
    expect(readFileSync(join(dir, 'reports', 'diff.json'), 'utf8')).toBe(out.stdout);
    expect(readFileSync(join(dir, 'reports', 'diff.md'), 'utf8')).toMatch(/^## Non-breaking \(1\)$/m);
  });

  test('--strict fails on a potentially breaking change, which alone does not fail', async () => {
    const dir = tempDir('procode-diff-strict-');
    const before = contract();
    const after = contract();
    schemas(after).Item.properties.status.enum.push('LOST');
    writeFileSync(join(dir, 'old.json'), JSON.stringify(before));
    writeFileSync(join(dir, 'new.json'), JSON.stringify(after));
    const lenient = await run('old.json', 'new.json', dir);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^## Potentially breaking \(1\)$/m);
    expect((await run('old.json', 'new.json', dir, { strict: true })).code).toBe(1);
  });

  test('git revisions: HEAD~1, REV:PATH and a working-tree file; referenced files come from the same revision', async () => {
    const repo = tempDir('procode-diff-git-');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: repo,
        stdio: 'pipe',
      });
    git('init', '-q');
    cpSync(CONTRACT_DIR, join(repo, 'contracts'), { recursive: true });
    git('add', '.');
    git('commit', '-qm', 'contract');
    const file = join(repo, 'contracts', 'schemas', 'payment-request.json');
    const original = readFileSync(file, 'utf8');
    const request = JSON.parse(original);
    request.properties.paymentToken.maxLength = 50;
    writeFileSync(file, JSON.stringify(request, null, 2));
    git('commit', '-qam', 'narrow paymentToken');
    // The working tree says otherwise: a revision must not read it.
    request.properties.paymentToken.maxLength = 10;
    writeFileSync(file, JSON.stringify(request, null, 2));

    const line = (from: number, to: number) =>
      '- **MakePayment** `POST /api/energy/payments`: request body (application/json) `paymentToken`: ' +
      `\`maxLength\` lowered: \`${from}\` → \`${to}\``;
    const byRevision = await run('HEAD~1', 'HEAD', repo);
    expect(byRevision.stderr).toBe('');
    expect(byRevision.code).toBe(1);
    expect(byRevision.stdout).toContain(
      '# Contract diff: `HEAD~1:contracts/procode.openapi.yaml` → `HEAD:contracts/procode.openapi.yaml`',
    );
    expect(byRevision.stdout).toContain(line(1024, 50));
    expect(byRevision.stdout.match(/^- /gm)).toHaveLength(1);

    const withPath = await run(
      'HEAD~1:contracts/procode.openapi.yaml',
      'contracts/procode.openapi.yaml',
      repo,
    );
    expect(withPath.code).toBe(1);
    expect(withPath.stdout).toContain(line(1024, 10));

    // From a subfolder, ./ paths are read from there, as git reads them.
    const inContracts = await run(
      'HEAD:./procode.openapi.yaml',
      './procode.openapi.yaml',
      join(repo, 'contracts'),
    );
    expect(inContracts.stdout).toContain(line(50, 10));

    writeFileSync(file, original);
    const same = await run('HEAD~1', 'contracts/procode.openapi.yaml', repo);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('No changes.');

    const missing = await run('HEAD:contracts/nope.yaml', 'HEAD', repo);
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'procode-contract diff: contracts/nope.yaml does not exist at HEAD\n',
    });
  });

  test.each([
    [
      'a name that is neither a file nor a revision',
      'no-such-branch',
      /^procode-contract diff: no-such-branch is neither a file nor a git revision\n$/,
    ],
    ['a missing file', 'missing.yaml', /^procode-contract diff: no such file: missing\.yaml\n$/],
    ['a folder', '.', /^procode-contract diff: \. is a folder: name the contract file in it/],
    [
      'a file that is not OpenAPI',
      'package.json',
      /^procode-contract diff: package\.json is not an OpenAPI document\n$/,
    ],
    [
      'YAML that does not parse',
      'broken.yaml',
      /^procode-contract diff: cannot read broken\.yaml: Error parsing .*broken\.yaml: /,
    ],
    [
      'a $ref to a missing file',
      'dangling.yaml',
      /^procode-contract diff: cannot read dangling\.yaml: Error opening file .*missing\.json/,
    ],
  ])('unreadable input, %s: exit 2 and one line', async (_name, spec, message) => {
    const dir = tempDir('procode-diff-bad-');
    execFileSync('git', ['init', '-q'], { cwd: dir });
    writeFileSync(join(dir, 'package.json'), '{"name": "not-an-api"}');
    writeFileSync(join(dir, 'broken.yaml'), 'openapi: 3.1.0\ninfo: {title: t\n  version: [\n');
    writeFileSync(
      join(dir, 'dangling.yaml'),
      'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n' +
        '        "200": {description: x, content: {application/json: {schema: {$ref: "./missing.json"}}}}\n',
    );
    const out = await run(spec, join(CONTRACT_DIR, 'procode.openapi.yaml'), dir);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(message);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('a revision outside a git repository: exit 2 and one line', async () => {
    const dir = tempDir('procode-diff-nogit-');
    expect(await run('main', 'HEAD', dir)).toEqual({
      code: 2,
      stdout: '',
      stderr: `procode-contract diff: main is not a file, and ${dir} is not in a git repository (or git is missing)\n`,
    });
  });
});

describe('procode-contract diff (the CLI)', () => {
  /** Runs `main` with these arguments, capturing stdout and stderr. */
  async function cli(...args: string[]) {
    const text = { stdout: '', stderr: '' };
    // Each stream's write as Node's: the callback (the diff waits for it before the bin exits) runs.
    const capture = (name: 'stdout' | 'stderr') =>
      jest.spyOn(process[name], 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
        text[name] += String(chunk);
        const done = rest.find((r): r is () => void => typeof r === 'function');
        done?.();
        return true;
      });
    const out = capture('stdout');
    const err = capture('stderr');
    try {
      const code = await main(['node', 'procode-contract', ...args]);
      return { code, ...text };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }
  const procode = join(CONTRACT_DIR, 'procode.openapi.yaml');
  const admin = join(CONTRACT_DIR, 'admin.openapi.yaml');

  test('the current contracts diffed against themselves: nothing to report, exit 0', async () => {
    for (const file of [procode, admin]) {
      const out = await cli('diff', file, file);
      expect(out).toEqual({ code: 0, stdout: expect.stringContaining('\nNo changes.\n'), stderr: '' });
    }
  });

  test('a breaking change to the real contract (a copy) exits 1 and names the operation', async () => {
    const dir = tempDir('procode-diff-copy-');
    cpSync(CONTRACT_DIR, dir, { recursive: true });
    const file = join(dir, 'schemas', 'customer.json');
    const customer = JSON.parse(readFileSync(file, 'utf8'));
    delete customer.properties.mobilePhone;
    customer.required = customer.required.filter((f: string) => f !== 'mobilePhone');
    writeFileSync(file, JSON.stringify(customer));
    const out = await cli('diff', procode, join(dir, 'procode.openapi.yaml'));
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      '- **GetCustomer** `GET /api/identity/customers/me`: response 200 (application/json): field `mobilePhone` removed (it was required)',
    );
    // Register answers 201 with a Customer too.
    expect(out.stdout).toMatch(/\*\*Register\*\* .*field `mobilePhone` removed/);
  });

  test('usage errors exit 2 with one line; the check options are not the diff options', async () => {
    for (const args of [
      ['diff'],
      ['diff', procode],
      ['diff', '--format', 'xml', procode, procode],
      ['diff', '--target', 'mock', procode, procode],
    ]) {
      const out = await cli(...args);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/^error: /);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  test('--version and an unknown target still behave as before', async () => {
    expect(await cli('--version')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/),
    });
    expect(await cli('--target', 'nowhere')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^procode-contract: unknown target "nowhere"/),
    });
  });
});

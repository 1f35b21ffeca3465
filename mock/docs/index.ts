import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { CompiledContract, Contract, Schema } from '../../contract-kit';
import { CONTRACT_DIR, SCHEMA_BASE, loadContract } from '../../contract-kit';
import { PROBLEMS, PROBLEM_BASE, problem, problemTypeUri } from '../problem';
import type { ProblemType } from '../problem';
import { problemReply } from '../reply';
import { PERSONAS } from '../../fixtures/personas';

/** The persona the docs' OAuth2 flow logs in as. */
const BASIC = PERSONAS.personas.find((p) => p.id === 'basic')!;

/**
 * Live API docs (README "Live API docs"): the two contracts (the Procode API's and the mock's own
 * control plane, `admin.openapi.yaml`) rendered by Scalar's API reference, served entirely from this
 * process and node_modules (no CDN, no web fonts, no telemetry), with "try it" aimed at the mock itself,
 * and one short page per problem type.
 */

/** Where the bundled contracts are served; Scalar's document switcher lists them in this order. */
const API_DOCUMENT_URL = '/docs/openapi.json';
const ADMIN_DOCUMENT_URL = '/docs/admin.openapi.json';

/**
 * Where the browser bundle of `@scalar/api-reference` lives, and its version (part of the asset URL):
 * `dist/mock/docs/assets/` after `npm run build` (scripts/copy-docs-assets.js; the runtime image has
 * only this), else the package itself (tests run from the sources with dev dependencies installed).
 */
function scalarBundle(): { dir: string; version: string } {
  const built = join(__dirname, 'assets');
  if (existsSync(join(built, 'standalone.js')) && existsSync(join(built, 'version.json'))) {
    const { version } = JSON.parse(readFileSync(join(built, 'version.json'), 'utf8')) as { version: string };
    return { dir: built, version };
  }
  // The package's `exports` hide package.json and dist/browser; its main entry is dist/index.js.
  const root = dirname(dirname(require.resolve('@scalar/api-reference')));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const dir = join(root, 'dist', 'browser');
  if (!existsSync(join(dir, 'standalone.js')))
    throw new Error(`@scalar/api-reference ${version} has no dist/browser/standalone.js`);
  return { dir, version };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rewrites every `$ref` under `node` with `rewrite` (a deep copy; examples are data and left alone). */
function mapRefs(node: unknown, rewrite: (ref: string) => string): unknown {
  if (Array.isArray(node)) return node.map((n) => mapRefs(n, rewrite));
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') out[k] = rewrite(v);
    else out[k] = k === 'example' || k === 'examples' ? structuredClone(v) : mapRefs(v, rewrite);
  }
  return out;
}

/**
 * The contract as one self-contained OpenAPI 3.1 document: each `./schemas/x.json` file is inlined as
 * its component (references between files become `#/components/schemas/...`, a file's own `#/$defs/...`
 * a pointer into its component), and `servers` is the page's own origin so "try it" calls the mock.
 */
export function bundleContract(
  contract: Contract,
  options: { requestIds?: 'none' | 'template' } = {},
): Record<string, unknown> {
  const doc = structuredClone(contract.document);
  const components = isObject(doc.components) ? doc.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  const fileOf = (ref: string): string => ref.replace(/^\.\//, '').replace(/^schemas\//, '');
  // Which component each schema file is.
  const componentOf = new Map<string, string>();
  for (const [name, s] of Object.entries(schemas))
    if (isObject(s) && typeof s.$ref === 'string' && !s.$ref.startsWith('#'))
      componentOf.set(fileOf(s.$ref), name);
  const toComponent = (ref: string, from?: string): string => {
    const [file, fragment = ''] = ref.split('#') as [string, string?];
    const name = file === '' ? from : componentOf.get(fileOf(file));
    if (name === undefined) throw new Error(`The contract refers to ${ref}, which is no component schema`);
    return `#/components/schemas/${name}${fragment}`;
  };
  for (const [file, name] of componentOf) {
    const raw: Schema | undefined = contract.schemaFiles.get(SCHEMA_BASE + file);
    if (!raw) throw new Error(`No schema file ${file} for the component ${name}`);
    const inlined = mapRefs(raw, (ref) => toComponent(ref, name)) as Schema;
    // The document's jsonSchemaDialect already says 2020-12.
    delete inlined.$schema;
    schemas[name] = inlined;
  }
  // A discriminator's mapping names schema files too (OpenAPI 3.1 section 4.8.25): the components now.
  for (const s of Object.values(schemas)) {
    const mapping = isObject(s) && isObject(s.discriminator) ? s.discriminator.mapping : undefined;
    if (isObject(mapping))
      for (const [value, ref] of Object.entries(mapping))
        if (typeof ref === 'string' && !ref.startsWith('#')) mapping[value] = toComponent(ref);
  }
  const bundled = mapRefs(doc, (ref) => (ref.startsWith('#') ? ref : toComponent(ref))) as Record<
    string,
    unknown
  >;
  bundled.servers = [{ url: '/', description: 'This mock (the origin serving these docs)' }];
  freshRequestIds(bundled, options.requestIds ?? 'none');
  return bundled;
}

/**
 * Gives the bundle's `X-Request-ID` parameter an example that never repeats. The contract's example is
 * one fixed UUID, so a client that prefills examples (the docs' try-it) sent it every time.
 * - `none` (the docs, generated types): no example, so try-it sends no `X-Request-ID` and the mock makes
 *   a new one for each request. Scalar's `{{$guid}}` is not used here: its values repeat across requests.
 * - `template` (the Postman collection): `{{$guid}}`, which Newman replaces with a new UUID on every send.
 */
function freshRequestIds(bundled: Record<string, unknown>, mode: 'none' | 'template'): void {
  const components = isObject(bundled.components) ? bundled.components : {};
  const parameters = isObject(components.parameters) ? components.parameters : {};
  for (const parameter of Object.values(parameters)) {
    if (
      isObject(parameter) &&
      parameter.in === 'header' &&
      String(parameter.name).toLowerCase() === 'x-request-id'
    ) {
      delete parameter.examples;
      if (mode === 'template') parameter.example = REQUEST_ID_TEMPLATE;
      else delete parameter.example;
    }
  }
}

/** Scalar's and Postman's template for a new UUID per request. */
export const REQUEST_ID_TEMPLATE = '{{$guid}}';

/** Escapes text for HTML element content and attribute values. */
function html(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/**
 * Content-Security-Policy of the Scalar page. Scripts, data and fonts only from this origin.
 * `style-src 'unsafe-inline'`: the bundle injects its stylesheet as a `<style>` element at run time and
 * its components (Vue, CodeMirror) set `style` attributes; styles cannot run script, and every script
 * still has to come from 'self'. `img-src data:`: the bundle draws some icons as data: URIs.
 */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The problem pages need nothing but their own stylesheet. */
const PROBLEM_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1b6b4a"/>' +
  '<path d="M5 3h4a3 3 0 0 1 0 6H7v4H5z" fill="#fff"/></svg>';

const PROBLEM_CSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem;margin:.2rem 0 1rem}code,pre{font-family:ui-monospace,monospace;font-size:.9rem}
pre{background:#f4f4f5;border:1px solid #ddd;border-radius:6px;padding:.8rem;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.status{display:inline-block;background:#eef;border-radius:4px;padding:0 .4rem;font-weight:600}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left}
nav{font-size:.9rem}a{color:#1b5e9b}`;

/** Starts Scalar with the JSON configuration in the page (no inline script, so the CSP needs none). */
const INIT_JS = `'use strict';
(function () {
  var config = JSON.parse(document.getElementById('procode-docs-config').textContent);
  window.Scalar.createApiReference('#app', config);
})();
`;

/**
 * Scalar's configuration: everything that would reach a Scalar service or a CDN is off. Two documents
 * (`sources`, @scalar/types `ApiReferenceConfigurationWithMultipleSources`): the Procode API, the
 * default, and the mock's admin API, picked from Scalar's document switcher; the rest is shared.
 */
function scalarConfiguration(): Record<string, unknown> {
  const none = '';
  return {
    sources: [
      { title: 'Procode API (procode-mock)', slug: 'procode-api', url: API_DOCUMENT_URL, default: true },
      { title: 'procode-mock admin', slug: 'procode-mock-admin', url: ADMIN_DOCUMENT_URL },
    ],
    layout: 'modern',
    theme: 'default',
    // Off the network: Inter and JetBrains Mono from fonts.scalar.com -> the system's fonts.
    withDefaultFonts: false,
    telemetry: false,
    // No hosted request proxy: requests go straight to this origin ('' keeps Scalar's default proxy off).
    proxyUrl: none,
    externalUrls: { dashboardUrl: none, registryUrl: none, proxyUrl: none, apiBaseUrl: none },
    // "Open in API client" links to client.scalar.com; the in-page "Test Request" client stays.
    hideClientButton: true,
    // The AI agent chat, the MCP install button and the developer toolbar all talk to Scalar's services.
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: 'never',
    persistAuth: false,
    showOperationId: true,
    defaultOpenAllTags: true,
    operationTitleSource: 'summary',
    orderSchemaPropertiesBy: 'preserve',
    documentDownloadType: 'json',
    defaultHttpClient: { targetKey: 'shell', clientKey: 'curl' },
    favicon: '/docs/favicon.svg',
    // No preferredSecurityScheme: each operation then starts on its own first requirement (TokenRequest:
    // the key and HTTP Basic client authentication; the rest: key and bearer token), with the dev key and
    // the mock's client credentials filled in.
    authentication: {
      securitySchemes: {
        subscriptionKey: { value: PERSONAS.subscriptionKey },
        subscriptionKeyQuery: { value: PERSONAS.subscriptionKey },
        clientBasic: { username: PERSONAS.clientId, password: PERSONAS.clientSecret },
        // The OAuth2 password flow, ready to Authorize as the `basic` persona: the client's credentials
        // in HTTP Basic, and the dev key in the token URL's `subscription-key` (the gateway needs one, and
        // Scalar's token request sends no other header).
        oauth2: {
          flows: {
            password: {
              'x-scalar-client-id': PERSONAS.clientId,
              clientSecret: PERSONAS.clientSecret,
              username: BASIC.username,
              password: BASIC.password,
              'x-scalar-credentials-location': 'header',
              tokenUrl: `/api/identity/auth/TokenRequest?subscription-key=${PERSONAS.subscriptionKey}`,
              selectedScopes: ['customer'],
            },
          },
        },
      },
    },
  };
}

function docsPage(assetBase: string): string {
  // `<` escaped so the JSON can never close its script element.
  const config = JSON.stringify(scalarConfiguration()).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Procode API (procode-mock): live docs</title>
<link rel="icon" href="/docs/favicon.svg" type="image/svg+xml">
</head>
<body>
<noscript>The live docs need JavaScript. The contracts themselves: <a href="${API_DOCUMENT_URL}">${API_DOCUMENT_URL}</a>
(the Procode API) and <a href="${ADMIN_DOCUMENT_URL}">${ADMIN_DOCUMENT_URL}</a> (the mock's admin API);
problem types: <a href="/problems">/problems</a>.</noscript>
<div id="app"></div>
<script type="application/json" id="procode-docs-config">${config}</script>
<script src="${assetBase}/standalone.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
}

/** An example body of a problem type, as the mock writes it. */
function exampleOf(type: ProblemType): Record<string, unknown> {
  const extensions =
    type === PROBLEMS.VALIDATION_ERROR
      ? { errors: [{ in: 'body' as const, pointer: '#/amountPence', detail: 'must be integer' }] }
      : type === PROBLEMS.OTP_INVALID
        ? { attemptsRemaining: 4 }
        : type === PROBLEMS.PAYMENT_DECLINED
          ? { paymentId: '9b2e4c61-0f3a-4d7b-8e15-6a2c9d3f7b40' }
          : {};
  const reply = problemReply(
    problem(type, type.description, extensions),
    '0b6f5b8e-3c2a-4d51-9a7e-2f1c8d4e6a90',
    'problem',
  );
  return reply.body as Record<string, unknown>;
}

/** A response body held in memory with its validator: served without touching the file system. */
interface MemoryAsset {
  contentType: string;
  body: Buffer;
  /** A strong entity tag (RFC 9110 section 8.8.3): a digest of the bytes. */
  etag: string;
  csp?: string;
  cacheControl?: string;
}

function memoryAsset(contentType: string, body: Buffer, csp?: string, cacheControl?: string): MemoryAsset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { contentType, body, etag, ...(csp ? { csp } : {}), ...(cacheControl ? { cacheControl } : {}) };
}

/**
 * Writes an asset from memory: 304 when `If-None-Match` names its ETag (RFC 9110 section 13.1.2), no
 * body for HEAD. The same Buffer goes to every response, so a slow reader holds a reference, not a copy.
 */
function serveAsset(req: Request, res: Response, asset: MemoryAsset): void {
  res.setHeader('Content-Type', asset.contentType);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('ETag', asset.etag);
  if (asset.csp) res.setHeader('Content-Security-Policy', asset.csp);
  if (asset.cacheControl) res.setHeader('Cache-Control', asset.cacheControl);
  const match = req.headers['if-none-match'];
  if (
    match !== undefined &&
    (match.trim() === '*' || match.split(/\s*,\s*/).some((t) => t.replace(/^W\//, '') === asset.etag))
  ) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.setHeader('Content-Length', asset.body.length);
  res.statusCode = 200;
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

function pageShell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title>
<link rel="icon" href="/docs/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/docs/problems.css">
</head>
<body>
${body}
</body>
</html>
`;
}

function problemPage(type: ProblemType): string {
  const example = JSON.stringify(exampleOf(type), null, 2);
  return pageShell(
    `${type.title} (${type.slug}): procode-mock problem type`,
    `<nav><a href="/problems">Problem types</a> · <a href="/docs">API docs</a></nav>
<p><code>${html(problemTypeUri(type))}</code></p>
<h1>${html(type.title)}</h1>
<p><span class="status">${type.status}</span> ${html(type.description)}</p>
${type.oauthError ? `<p>OAuth2 error code (RFC 6749 section 5.2): <code>${html(type.oauthError)}</code>, also in the body's <code>error</code> and <code>error_description</code>.</p>\n` : ''}<h2>Example</h2>
<pre><code>HTTP/1.1 ${type.status}
Content-Type: application/problem+json

${html(example)}</code></pre>
<p>Every problem carries <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code> and
<code>instance</code> (<code>urn:procode:request:</code> and the request's <code>X-Request-ID</code>); the
<code>detail</code> says what to fix in the request.</p>`,
  );
}

function problemIndex(types: readonly ProblemType[]): string {
  const rows = types
    .map(
      (t) =>
        `<tr><td><a href="/problems/${html(t.slug)}">${html(t.slug)}</a></td><td>${t.status}</td><td>${html(t.title)}</td></tr>`,
    )
    .join('\n');
  return pageShell(
    'Problem types: procode-mock',
    `<nav><a href="/docs">API docs</a></nav>
<h1>Problem types</h1>
<p>Errors are RFC 9457 problem details; each <code>type</code> is <code>${html(PROBLEM_BASE)}&lt;slug&gt;</code>,
and its path resolves here, on the mock.</p>
<table><thead><tr><th>slug</th><th>status</th><th>title</th></tr></thead><tbody>
${rows}
</tbody></table>`,
  );
}

/**
 * The live docs router: `GET /docs` (Scalar's API reference of both contracts, with "try it" against this
 * mock), `GET /docs/openapi.json` and `GET /docs/admin.openapi.json` (the bundled contracts), Scalar's
 * assets from node_modules, and `GET /problems/:slug`, a short page per problem type (404 problem+json
 * for an unknown slug).
 * @param contract the Procode API's contract.
 * @param admin the admin API's contract (default: `contracts/admin.openapi.yaml`, loaded here).
 */
export function buildDocsRouter(
  contract: CompiledContract,
  admin: CompiledContract | Contract = loadContract(CONTRACT_DIR, 'admin.openapi.yaml'),
): express.Router {
  const router = express.Router();
  const bundle = scalarBundle();
  const assetBase = `/docs/assets/scalar-api-reference-${bundle.version}`;
  const openapi = JSON.stringify(bundleContract(contract.contract));
  const adminOpenapi = JSON.stringify(bundleContract('contract' in admin ? admin.contract : admin));
  const page = docsPage(assetBase);
  const types = Object.values(PROBLEMS) as ProblemType[];
  const pages = new Map(
    types.map((t) => [
      t.slug,
      memoryAsset('text/html; charset=utf-8', Buffer.from(problemPage(t), 'utf8'), PROBLEM_CSP),
    ]),
  );
  const index = problemIndex(types);

  const send = (contentType: string, body: string, csp?: string): express.RequestHandler => {
    const asset = memoryAsset(contentType, Buffer.from(body, 'utf8'), csp);
    return (req, res) => serveAsset(req, res, asset);
  };

  router.get('/docs', send('text/html; charset=utf-8', page, DOCS_CSP));
  router.get(API_DOCUMENT_URL, send('application/json; charset=utf-8', openapi));
  router.get(ADMIN_DOCUMENT_URL, send('application/json; charset=utf-8', adminOpenapi));
  router.get('/docs/init.js', send('text/javascript; charset=utf-8', INIT_JS));
  router.get('/docs/favicon.svg', send('image/svg+xml', FAVICON));
  router.get('/docs/problems.css', send('text/css; charset=utf-8', PROBLEM_CSS));
  // Only the bundle and its source map: the versioned URL never changes content, so it may be cached.
  // Each is read once, at its first request, and served from memory (no file handle per request).
  const bundleFiles = new Map<string, Promise<MemoryAsset>>();
  router.get(`${assetBase}/:file`, (req: Request, res: Response, next: NextFunction) => {
    const file = String(req.params.file);
    if (file !== 'standalone.js' && file !== 'standalone.js.map') {
      next();
      return;
    }
    let asset = bundleFiles.get(file);
    if (!asset) {
      const type = file.endsWith('.map')
        ? 'application/json; charset=utf-8'
        : 'text/javascript; charset=utf-8';
      asset = readFile(join(bundle.dir, file)).then((bytes) =>
        memoryAsset(type, bytes, undefined, 'public, max-age=31536000, immutable'),
      );
      // A failed read is not remembered: the next request tries again.
      asset.catch(() => bundleFiles.delete(file));
      bundleFiles.set(file, asset);
    }
    asset.then((a) => serveAsset(req, res, a), next);
  });
  router.get('/problems', send('text/html; charset=utf-8', index, PROBLEM_CSP));
  router.get('/problems/:slug', (req: Request, res: Response, next: NextFunction) => {
    const slug = String(req.params.slug);
    const body = pages.get(slug);
    if (body === undefined) {
      next(problem(PROBLEMS.NOT_FOUND, `No problem type ${slug}; /problems lists them all.`));
      return;
    }
    serveAsset(req, res, body);
  });
  return router;
}

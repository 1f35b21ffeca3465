import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page, Request, Response } from 'playwright-core';
import { CONTRACT_DIR, loadContract } from '../../contract-kit';
import { PROBLEMS, PROBLEM_BASE } from '../../mock/problem';
import { PERSONAS } from '../../fixtures/personas';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * The live docs (`/docs`, README "Live API docs") in a real headless Chromium: the page loads from the mock
 * alone (no failed request, no other host), lists every operation of both contracts (the Procode API and
 * the mock's admin API, picked from Scalar's document switcher), and "try it" reaches the mock.
 * Needs `npm run build` first (the server is dist/mock/main.js) and Debian's chromium.
 */
const CHROMIUM = '/usr/bin/chromium';
const REPORTS = join(ROOT, 'reports');
const contract = loadContract();
const adminContract = loadContract(CONTRACT_DIR, 'admin.openapi.yaml');
/** The titles of the two documents in Scalar's switcher, the default first. */
const API_TITLE = 'Procode API (procode-mock)';
const ADMIN_TITLE = 'procode-mock admin';
const basic = PERSONAS.personas.find((p) => p.id === 'basic')!;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** An operation's sidebar entry: its summary, then (for screen readers) "HTTP Method: GET". */
const sidebarLink = (page: Page, summary: string, method = '[A-Z]+') =>
  page.getByRole('link', {
    name: new RegExp(`^${escapeRegExp(summary)}\\s+HTTP Method:\\s*${method}$`, 'i'),
  });

/** Every `$ref` of a bundled document, each checked to resolve inside it (no file, no other URL). */
function internalRefs(doc: unknown): string[] {
  const refs: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object')
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref' && typeof v === 'string') refs.push(v);
        else walk(v);
      }
  };
  walk(doc);
  for (const ref of refs) {
    expect(ref).toMatch(/^#\//);
    let node: unknown = doc;
    for (const token of ref.slice(2).split('/'))
      node = (node as Record<string, unknown> | undefined)?.[token.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`${ref} does not resolve in the bundled document`);
  }
  return refs;
}

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('served over HTTP', () => {
  test('GET /docs is HTML with a self-only Content-Security-Policy', async () => {
    const res = await fetch(`${server.base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    const html = await res.text();
    // No inline script to run: each script is a file of this origin or a JSON data block.
    for (const tag of html.match(/<script[^>]*>/g) ?? [])
      expect(tag).toMatch(/ src="\/docs\/| type="application\/json"/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing from another origin
  });

  test('GET /docs/openapi.json is the contract in one document, aimed at this origin', async () => {
    const res = await fetch(`${server.base}/docs/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown> & { paths: Record<string, unknown> };
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(internalRefs(doc).length).toBeGreaterThan(100);
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(contract.document.paths as object).sort());
  });

  test('GET /docs/admin.openapi.json is the admin contract in one document, valid OpenAPI 3.1', async () => {
    const res = await fetch(`${server.base}/docs/admin.openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    const doc = JSON.parse(text) as Record<string, unknown> & { paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(internalRefs(doc).length).toBeGreaterThan(50);
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(adminContract.document.paths as object).sort());
    // Spectral with the repository's ruleset: its OpenAPI 3.1 schema, examples against their schemas.
    const dir = mkdtempSync(join(tmpdir(), 'procode-docs-'));
    try {
      const file = join(dir, 'admin.openapi.json');
      const report = join(dir, 'spectral.json');
      writeFileSync(file, text);
      const run = spawnSync(
        join(ROOT, 'node_modules', '.bin', 'spectral'),
        ['lint', '--ruleset', join(ROOT, '.spectral.yaml'), '-f', 'json', '-o', report, file],
        { cwd: ROOT, encoding: 'utf8' },
      );
      expect(run.error).toBeUndefined();
      const results = JSON.parse(readFileSync(report, 'utf8')) as {
        code: string;
        severity: number;
        message: string;
        path: string[];
      }[];
      // Severity 0 is an error, 1 a warning (an unrecognised format would be one).
      expect(
        results.filter((r) => r.severity <= 1).map((r) => `${r.code} ${r.path.join('.')}: ${r.message}`),
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every problem type URI has a page on the mock; an unknown slug is a 404 problem', async () => {
    for (const type of Object.values(PROBLEMS)) {
      const path = new URL(PROBLEM_BASE + type.slug).pathname;
      const res = await fetch(server.base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await res.text();
      expect(html).toContain(`<h1>${type.title}</h1>`);
      expect(html).toContain(`HTTP/1.1 ${type.status}`);
    }
    const res = await fetch(`${server.base}/problems/no-such-problem`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { type: string }).type).toBe(`${PROBLEM_BASE}not-found`);
  });
});

// In CI (.ci/run installs Chromium) a missing browser is a failure, not a skip.
const inChromium = existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
if (!existsSync(CHROMIUM))
  process.stderr.write(
    `SKIPPED the live docs browser test: ${CHROMIUM} is absent (apt-get install -y chromium)\n`,
  );

inChromium(`in headless Chromium (${CHROMIUM})`, () => {
  let browser: Browser;
  let page: Page;
  const requests: Request[] = [];
  const problems: string[] = [];
  const responses: Response[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('request', (r) => requests.push(r));
    page.on('response', (r) => responses.push(r));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // Scalar logs this when its own AbortController cancels work it no longer needs (seen about one
      // run in four on a loaded machine, with no request failing: a failed or cancelled request is
      // caught by 'requestfailed' above).
      if (m.text() === 'AbortError: The user aborted a request.') return;
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text()))
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** No failed request, no host but the mock's, no error status on anything but the API calls made. */
  function expectCleanNetwork(): void {
    const base = new URL(server.base);
    const elsewhere = requests
      .map((r) => new URL(r.url()))
      .filter(
        (u) =>
          (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol.startsWith('ws')) &&
          u.host !== base.host,
      );
    expect(elsewhere.map(String)).toEqual([]);
    expect(requests.every((r) => /^(https?|data|blob):/.test(r.url()))).toBe(true);
    expect(problems).toEqual([]);
    const errors = responses.filter(
      (r) => r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/'),
    );
    expect(errors.map((r) => `${r.status()} ${r.url()}`)).toEqual([]);
  }

  test('the page loads from the mock alone and lists every operation', async () => {
    const started = performance.now();
    await page.goto(`${server.base}/docs`, { waitUntil: 'networkidle' });
    for (const op of contract.operations) {
      // Listed in the sidebar by summary; its section shows the operationId.
      await sidebarLink(page, op.summary, op.method).click();
      const section = page.locator(`section[label="${op.summary.replace(/"/g, '\\"')}"]`);
      await section.locator('.badge', { hasText: op.operationId }).first().waitFor({ state: 'visible' });
    }
    expect(await page.title()).toContain('procode-mock');
    expectCleanNetwork();
    process.stdout.write(
      `docs page and its ${contract.operations.length} operations: ${Math.round(performance.now() - started)} ms\n`,
    );
  }, 60_000);

  test('"try it" works first time: TokenRequest as given (twice), then GetCustomer, each with its own X-Request-ID', async () => {
    const started = performance.now();
    const dialog = page.getByRole('dialog');

    // TokenRequest works first time: the subscription key and the client's HTTP Basic credentials are
    // prefilled (the contract's clientBasic scheme), and the body is the contract's first example, the
    // basic persona's credentials. Sent twice: each send has an X-Request-ID of its own.
    await sidebarLink(page, 'Get an access token').click();
    await page.getByRole('button', { name: /Test Request.*TokenRequest/ }).click();
    await dialog.waitFor({ state: 'visible' });
    const sendToken = async (): Promise<Response> => {
      const reply = page.waitForResponse((r) => r.url().endsWith('/api/identity/auth/TokenRequest'));
      await dialog.getByRole('button', { name: /^Send \w+ request to / }).click();
      return reply;
    };
    const tokenResponse = await sendToken();
    expect(tokenResponse.request().headers()['ocp-apim-subscription-key']).toBe(PERSONAS.subscriptionKey);
    expect(tokenResponse.request().headers().authorization).toBe(
      `Basic ${Buffer.from(`${PERSONAS.clientId}:${PERSONAS.clientSecret}`).toString('base64')}`,
    );
    expect(JSON.parse(tokenResponse.request().postData() ?? '{}')).toEqual({
      grant_type: 'password',
      username: basic.username,
      password: basic.password,
    });
    expect(tokenResponse.status()).toBe(200);
    const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
    await dialog.getByText('200 OK').first().waitFor({ state: 'visible' });
    const again = await sendToken();
    expect(again.status()).toBe(200);
    // No fixed X-Request-ID is prefilled: the mock gives each request its own.
    const ids = [tokenResponse, again].map((r) => r.headers()['x-request-id']);
    for (const [i, r] of [tokenResponse, again].entries()) {
      expect(ids[i]).toMatch(UUID);
      const sent = r.request().headers()['x-request-id'];
      if (sent !== undefined) expect(sent).toBe(ids[i]);
    }
    expect(ids[0]).not.toBe(ids[1]);
    // waitForResponse resolves on the headers: let the body arrive before the dialog closes.
    await again.finished();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // GetCustomer (the key and an OAuth2 token): Authorize runs the contract's password flow, prefilled
    // with the basic persona and the client, against TokenRequest; then Send uses the token it got.
    await sidebarLink(page, 'Get the current customer').click();
    await page.getByRole('button', { name: /Test Request.*customers\/me/ }).click();
    await dialog.waitFor({ state: 'visible' });
    const authorized = page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/api/identity/auth/TokenRequest',
    );
    await dialog.getByRole('button', { name: 'Authorize' }).click();
    const flowToken = await authorized;
    expect(flowToken.status()).toBe(200);
    expect(((await flowToken.json()) as { scope: string }).scope).toBe('customer');
    // The form shows the token it now sends once the flow has stored it.
    await dialog.getByRole('button', { name: 'Clear tokens' }).waitFor({ state: 'visible' });
    expect(token).toMatch(/^ey/);
    const customerReply = page.waitForResponse((r) => r.url().endsWith('/api/identity/customers/me'));
    await dialog.getByRole('button', { name: /^Send \w+ request to / }).click();
    const customerResponse = await customerReply;
    expect(customerResponse.status()).toBe(200);
    const customerId = customerResponse.headers()['x-request-id'];
    expect(customerId).toMatch(UUID);
    expect(ids).not.toContain(customerId);
    expect(((await customerResponse.json()) as { accountNumber: string }).accountNumber).toBe(
      basic.accountNumber,
    );
    await dialog.getByText('200 OK').first().waitFor({ state: 'visible' });

    mkdirSync(REPORTS, { recursive: true });
    const tryIt = join(REPORTS, 'docs-try-it.png');
    await page.screenshot({ path: tryIt, animations: 'disabled' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await sidebarLink(page, 'Get the current customer').click();
    const shot = join(REPORTS, 'docs.png');
    await page.screenshot({ path: shot, animations: 'disabled' });
    expectCleanNetwork();
    process.stdout.write(
      `try it (TokenRequest, GetCustomer): ${Math.round(performance.now() - started)} ms\nscreenshots: ${shot} ${tryIt}\n`,
    );
  }, 60_000);

  test('a problem type page renders under its CSP', async () => {
    const slug = PROBLEMS.NOT_PREPAYMENT.slug;
    await page.goto(`${server.base}/problems/${slug}`, { waitUntil: 'networkidle' });
    expect(await page.locator('h1').innerText()).toBe(PROBLEMS.NOT_PREPAYMENT.title);
    expect(await page.locator('pre').innerText()).toContain(`"type": "${PROBLEM_BASE}${slug}"`);
    // Its stylesheet applied (a blocked one would leave the browser's default monospace background).
    // (A string: the test's TypeScript has no DOM library.)
    const background = await page.evaluate("getComputedStyle(document.querySelector('pre')).backgroundColor");
    expect(background).toBe('rgb(244, 244, 245)');
    expectCleanNetwork();
  });

  test('the document switcher offers the admin API after the Procode API; it lists every admin operation', async () => {
    const started = performance.now();
    await page.goto(`${server.base}/docs`, { waitUntil: 'networkidle' });
    const switcher = page.locator('button[aria-haspopup="listbox"]').first();
    expect((await switcher.innerText()).trim()).toBe(API_TITLE);
    await switcher.click();
    expect((await page.getByRole('option').allInnerTexts()).map((t) => t.trim())).toEqual([
      API_TITLE,
      ADMIN_TITLE,
    ]);
    await page.getByRole('option', { name: ADMIN_TITLE }).click();
    await page
      .getByRole('heading', {
        level: 1,
        name: String((adminContract.document.info as { title: string }).title),
      })
      .waitFor({ state: 'visible' });
    for (const op of adminContract.operations) {
      // The sidebar abbreviates DELETE to DEL.
      await sidebarLink(page, op.summary, op.method === 'delete' ? 'DEL(?:ETE)?' : op.method).click();
      const section = page.locator(`section[label="${op.summary.replace(/"/g, '\\"')}"]`);
      await section.locator('.badge', { hasText: op.operationId }).first().waitFor({ state: 'visible' });
    }
    expect(requests.some((r) => new URL(r.url()).pathname === '/docs/admin.openapi.json')).toBe(true);
    expectCleanNetwork();
    mkdirSync(REPORTS, { recursive: true });
    const shot = join(REPORTS, 'docs-admin.png');
    await page.screenshot({ path: shot, animations: 'disabled' });
    process.stdout.write(
      `admin docs and its ${adminContract.operations.length} operations: ${Math.round(performance.now() - started)} ms\nscreenshot: ${shot}\n`,
    );
  }, 60_000);
});

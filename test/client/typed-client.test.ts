import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import personas from '../../fixtures/personas.json';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * The typed client a consumer gets (issue 8): the TypeScript types `npm run build` generates from the
 * contract with openapi-typescript (scripts/generate-types.js, exported as `procode-mock/types` and
 * `procode-mock/types/admin`) and a client made with openapi-fetch. In a temporary folder outside the
 * repository, with the package linked in as `node_modules/procode-mock` (so its `exports` are what
 * resolves the types, as for an installed package), programs are compiled by `tsc` under `strict`, as a
 * consumer's CommonJS project with lib DOM (fetch), and the client is run against the real mock.
 *
 * What must hold: the client compiles with no error, narrowing a ServicePoint by `fuelType` and a
 * Payment by `status` without a cast or `!`; reading those fields without narrowing does not compile; a
 * literal of a real GetPremiseFeatures body compiles as `PremiseFeatures`; and the compiled client
 * walks TokenRequest (form body, HTTP Basic client authentication) to GetPayment against the mock.
 */

const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const TYPES_DIR = join(ROOT, 'dist', 'types');
const basic = personas.personas.find((p) => p.id === 'basic')!;

/** One `tsc --pretty false` diagnostic. */
interface Diagnostic {
  file: string;
  line: number;
  code: string;
  message: string;
}

/** Newest modification time (ms) of the files directly in `dir` whose names end with one of `exts`. */
function newest(dir: string, exts: string[]): number {
  return Math.max(
    0,
    ...readdirSync(dir)
      .filter((f) => exts.some((e) => f.endsWith(e)))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
}

/**
 * The types as `npm run build` writes them, regenerated here only when missing or older than the
 * contract (or the mock's built bundle function), so that running this file alone tests the contract
 * as it is now.
 */
function ensureTypes(): void {
  const outputs = ['procode.d.ts', 'admin.d.ts'].map((f) => join(TYPES_DIR, f));
  const inputs = Math.max(
    newest(join(ROOT, 'contracts'), ['.yaml']),
    newest(join(ROOT, 'contracts', 'schemas'), ['.json']),
    newest(join(ROOT, 'dist', 'mock', 'docs'), ['.js']),
  );
  if (outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= inputs)) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'generate-types.js')], { cwd: ROOT, stdio: 'pipe' });
}

/** The lines of `source` carrying `marker` (1-based). */
function linesWith(source: string, marker: string): number[] {
  return source.split('\n').flatMap((l, i) => (l.includes(marker) ? [i + 1] : []));
}

/** The consumer's client: openapi-fetch over the generated `paths`, walking the README's walkthrough. */
function clientProgram(base: string): string {
  return `import createClient from 'openapi-fetch';
import type { components, paths } from 'procode-mock/types';

type ServicePoint = components['schemas']['ServicePoint'];
type Payment = components['schemas']['Payment'];

const BASE = ${JSON.stringify(base)};
const KEY = ${JSON.stringify(personas.subscriptionKey)};
const CLIENT = ${JSON.stringify(`${personas.clientId}:${personas.clientSecret}`)};
const USERNAME = ${JSON.stringify(basic.username)};
const PASSWORD = ${JSON.stringify(basic.password)};
const PAYMENT_TOKEN = ${JSON.stringify(personas.paymentTokens.approve)};

/** Electricity-only data, read after narrowing on fuelType: no cast, no non-null assertion. */
function gspGroupOf(servicePoint: ServicePoint): string | undefined {
  if (servicePoint.fuelType === 'ELECTRICITY') {
    const gspGroupId: string = servicePoint.gspGroupId;
    return gspGroupId;
  }
  return undefined;
}

/** The UTRN of an applied top-up, read after narrowing on status: no cast, no non-null assertion. */
function utrnOf(payment: Payment): string | undefined {
  if (payment.status === 'APPLIED') {
    const utrn: string = payment.utrn;
    return utrn;
  }
  return undefined;
}

function failed(step: string, response: Response, error: unknown): Error {
  return new Error(step + ': HTTP ' + response.status + ' ' + JSON.stringify(error));
}

async function main(): Promise<void> {
  const steps: Record<string, number> = {};
  const gateway = createClient<paths>({ baseUrl: BASE, headers: { 'Ocp-Apim-Subscription-Key': KEY } });

  // TokenRequest: form-encoded body, the client authenticated with HTTP Basic (RFC 6749 section 2.3.1).
  const login = await gateway.POST('/api/identity/auth/TokenRequest', {
    body: { grant_type: 'password', username: USERNAME, password: PASSWORD },
    bodySerializer: (body) => {
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries(body)) if (typeof value === 'string') form.set(name, value);
      return form;
    },
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: 'Basic ' + btoa(CLIENT),
    },
  });
  if (login.error) throw failed('TokenRequest', login.response, login.error);
  steps.TokenRequest = login.response.status;
  const accessToken: string = login.data.access_token;

  const api = createClient<paths>({
    baseUrl: BASE,
    headers: { 'Ocp-Apim-Subscription-Key': KEY, Authorization: 'Bearer ' + accessToken },
  });

  const premises = await api.GET('/api/energy/premises');
  if (premises.error) throw failed('ListPremises', premises.response, premises.error);
  steps.ListPremises = premises.response.status;
  const premise = premises.data.items[0];
  if (premise === undefined) throw new Error('ListPremises: no premise');

  const servicePoints = await api.GET('/api/energy/premises/{premiseId}/servicepoints', {
    params: { path: { premiseId: premise.premiseId } },
  });
  if (servicePoints.error) throw failed('ListServicePoints', servicePoints.response, servicePoints.error);
  steps.ListServicePoints = servicePoints.response.status;
  let mpan: string | undefined;
  let gspGroupId: string | undefined;
  for (const servicePoint of servicePoints.data.items) {
    if (servicePoint.fuelType === 'ELECTRICITY') {
      mpan = servicePoint.servicePointId;
      gspGroupId = servicePoint.gspGroupId.toUpperCase();
      break;
    }
  }
  if (mpan === undefined) throw new Error('ListServicePoints: no electricity service point');
  const gspAgain = servicePoints.data.items.map(gspGroupOf).find((g) => g !== undefined);

  const devices = await api.GET('/api/energy/servicepoints/{servicePointId}/devices', {
    params: { path: { servicePointId: mpan } },
  });
  if (devices.error) throw failed('ListDevices', devices.response, devices.error);
  steps.ListDevices = devices.response.status;
  const meter = devices.data.items.find((d) => d.deviceType === 'ESME');
  if (meter === undefined) throw new Error('ListDevices: no ESME');

  const before = await api.GET('/api/energy/devices/{deviceId}/balance', {
    params: { path: { deviceId: meter.deviceId } },
  });
  if (before.error) throw failed('GetBalance', before.response, before.error);
  steps.GetBalance = before.response.status;
  const creditBefore: number = before.data.creditBalancePence;

  const made = await api.POST('/api/energy/payments', {
    params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
    body: { deviceId: meter.deviceId, amountPence: 1000, method: 'CARD', paymentToken: PAYMENT_TOKEN },
  });
  if (made.error) throw failed('MakePayment', made.response, made.error);
  steps.MakePayment = made.response.status;

  const got = await api.GET('/api/energy/payments/{paymentId}', {
    params: { path: { paymentId: made.data.paymentId } },
  });
  if (got.error) throw failed('GetPayment', got.response, got.error);
  steps.GetPayment = got.response.status;
  const payment = got.data;
  let utrn: string | undefined;
  if (payment.status === 'APPLIED') utrn = payment.utrn.slice(0);
  const utrnAgain = utrnOf(payment);

  console.log(
    JSON.stringify({ steps, mpan, gspGroupId, gspAgain, creditBefore, status: payment.status, utrn, utrnAgain }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  throw err;
});
`;
}

/** Reading electricity-only and APPLIED-only fields without narrowing: each marked line must not compile. */
const UNNARROWED = `import type { components } from 'procode-mock/types';

type ServicePoint = components['schemas']['ServicePoint'];
type Payment = components['schemas']['Payment'];

export function gspGroupOf(servicePoint: ServicePoint): string {
  const gspGroupId: string = servicePoint.gspGroupId; // MUST-NOT-COMPILE
  return gspGroupId;
}

export function utrnOf(payment: Payment): string {
  const utrn: string = payment.utrn; // MUST-NOT-COMPILE
  return utrn;
}
`;

/** Both entry points resolve through the package's `exports` (types only). */
const EXPORTS = `import type { components, operations, paths } from 'procode-mock/types';
import type { paths as AdminPaths } from 'procode-mock/types/admin';

export type Operations = keyof operations;
export type Schemas = keyof components['schemas'];
export type ApiPath = keyof paths;
export type AdminPath = keyof AdminPaths;
`;

/** A consumer's CommonJS project: strict, lib DOM for fetch, no @types. */
const TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    lib: ['ES2022', 'DOM'],
    types: [],
    esModuleInterop: true,
    // The generated declarations are checked too; TypeScript's own lib files are not.
    skipLibCheck: false,
    skipDefaultLibCheck: true,
    outDir: 'out',
    rootDir: '.',
  },
  files: ['client.ts', 'unnarrowed.ts', 'features.ts', 'exports.ts'],
};

let server: RunningServer;
let dir = '';
/** Diagnostics by file name in the temporary folder (`*` for files outside it). */
const diagnostics = new Map<string, Diagnostic[]>();
let tscOutput = '';
let featuresBody: unknown;
let openapi: Record<string, unknown>;

function diagnosticsOf(file: string): string[] {
  return (diagnostics.get(file) ?? []).map((d) => `${d.file}(${d.line}): ${d.code} ${d.message}`);
}

beforeAll(async () => {
  server = await startServer({ SEED: '42' });
  ensureTypes();
  const key = { 'Ocp-Apim-Subscription-Key': personas.subscriptionKey };
  openapi = (await (await fetch(`${server.base}/docs/openapi.json`)).json()) as Record<string, unknown>;
  // A real GetPremiseFeatures body, for the literal below.
  const token = (await (
    await fetch(`${server.base}/api/identity/auth/TokenRequest`, {
      method: 'POST',
      headers: {
        ...key,
        Authorization: `Basic ${Buffer.from(`${personas.clientId}:${personas.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'password',
        username: basic.username,
        password: basic.password,
      }),
    })
  ).json()) as { access_token: string };
  const auth = { ...key, Authorization: `Bearer ${token.access_token}` };
  const premises = (await (await fetch(`${server.base}/api/energy/premises`, { headers: auth })).json()) as {
    items: { premiseId: string }[];
  };
  const premiseId = premises.items[0]!.premiseId;
  const features = await fetch(`${server.base}/api/energy/premises/${premiseId}/features`, { headers: auth });
  expect(features.status).toBe(200);
  featuresBody = await features.json();

  dir = mkdtempSync(join(tmpdir(), 'procode-typed-client-'));
  mkdirSync(join(dir, 'node_modules'));
  // The package as a consumer installs it, and openapi-fetch from this repository's node_modules.
  symlinkSync(ROOT, join(dir, 'node_modules', 'procode-mock'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', 'openapi-fetch'), join(dir, 'node_modules', 'openapi-fetch'), 'dir');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(dir, 'client.ts'), clientProgram(server.base));
  writeFileSync(join(dir, 'unnarrowed.ts'), UNNARROWED);
  writeFileSync(join(dir, 'exports.ts'), EXPORTS);
  writeFileSync(
    join(dir, 'features.ts'),
    `import type { components } from 'procode-mock/types';\n\n` +
      `export const features: components['schemas']['PremiseFeatures'] = ${JSON.stringify(featuresBody, null, 2)};\n`,
  );

  // One compilation for all four programs (emitting even with errors, so the client can still run).
  const tsc = spawnSync(TSC, ['-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
  tscOutput = `${tsc.stdout}${tsc.stderr}`;
  for (const line of tscOutput.split('\n')) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (!m) continue;
    const file = m[1]!;
    const bucket = TSCONFIG.files.includes(file) ? file : '*';
    diagnostics.set(bucket, [
      ...(diagnostics.get(bucket) ?? []),
      { file, line: Number(m[2]), code: m[3]!, message: m[4]! },
    ]);
  }
}, 30_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('`procode-mock/types` and `procode-mock/types/admin` resolve through the package exports and type-check under strict', () => {
  expect(diagnosticsOf('exports.ts')).toEqual([]);
  // Nothing outside the four programs: the generated declarations and openapi-fetch's own.
  expect(diagnosticsOf('*')).toEqual([]);
  // tsc said nothing it was not asked (a crash, an unreadable tsconfig).
  expect(
    tscOutput
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^\S.*\(\d+,\d+\): error TS/.test(l) && !/^ /.test(l)),
  ).toEqual([]);
});

test('the openapi-fetch client compiles under --strict: a ServicePoint narrowed by fuelType and a Payment by status, no casts', () => {
  expect(diagnosticsOf('client.ts')).toEqual([]);
});

test('narrowing matters: electricity-only and APPLIED-only fields read without narrowing do not compile', () => {
  const marked = linesWith(UNNARROWED, 'MUST-NOT-COMPILE');
  const errors = diagnostics.get('unnarrowed.ts') ?? [];
  // Exactly the marked lines fail, each for the field's type or absence (no other error hides the point).
  expect([...new Set(errors.map((d) => d.line))].sort((a, b) => a - b)).toEqual(marked);
  for (const d of errors) expect(['TS2322', 'TS2339', 'TS18048']).toContain(d.code);
});

test('a literal of a real GetPremiseFeatures body compiles as PremiseFeatures', () => {
  expect(featuresBody).toMatchObject({ features: expect.any(Array) });
  expect(diagnosticsOf('features.ts')).toEqual([]);
});

test('the contract tells a generated client that TokenRequest needs HTTP Basic client authentication', () => {
  const paths = openapi.paths as Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  const schemes = (
    openapi.components as { securitySchemes: Record<string, { type: string; scheme?: string }> }
  ).securitySchemes;
  const security = paths['/api/identity/auth/TokenRequest']!.post!.security ?? [];
  const basicSchemes = Object.entries(schemes)
    .filter(([, s]) => s.type === 'http' && s.scheme?.toLowerCase() === 'basic')
    .map(([name]) => name);
  expect(basicSchemes).not.toEqual([]);
  // Some alternative of the operation's security is the one this client follows: HTTP Basic (with the key).
  expect(security.some((alternative) => basicSchemes.some((name) => name in alternative))).toBe(true);
});

test('the compiled client walks TokenRequest (form, HTTP Basic) to GetPayment against the mock', () => {
  const js = join(dir, 'out', 'client.js');
  expect(existsSync(js)).toBe(true);
  const run = spawnSync(process.execPath, [js], { cwd: dir, encoding: 'utf8', timeout: 15_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  expect(report).toEqual({
    steps: {
      TokenRequest: 200,
      ListPremises: 200,
      ListServicePoints: 200,
      ListDevices: 200,
      GetBalance: 200,
      MakePayment: 201,
      GetPayment: 200,
    },
    mpan: expect.stringMatching(/^[0-9]{13}$/),
    gspGroupId: expect.stringMatching(/^_[A-P]$/),
    gspAgain: report.gspGroupId,
    creditBefore: expect.any(Number),
    status: 'APPLIED',
    utrn: expect.stringMatching(/^[0-9]{20}$/),
    utrnAgain: report.utrn,
  });
});

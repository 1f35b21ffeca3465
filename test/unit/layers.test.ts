import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The layering in docs/decisions.md ("A contract kit"): the harness checks real environments, so it must
 * not load the mock; the kit is shared by both and imports neither. A new import across a line fails here.
 */
const ROOT = resolve(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

/** Every module a file imports or requires, resolved to a path relative to the project root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)'([^']+)'/g)].map((m) => m[1]!);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      relative(ROOT, resolve(ROOT, file, '..', s))
        .split('\\')
        .join('/'),
    );
}

const crossing = (files: string[], forbidden: string[]): string[] =>
  files.flatMap((f) =>
    importsOf(f)
      .filter((target) => forbidden.some((top) => target === top || target.startsWith(top + '/')))
      .map((target) => `${f} -> ${target}`),
  );

describe('module layering', () => {
  test('the harness loads the mock only from its in-process target', () => {
    const harness = sources('harness').filter((f) => f !== join('harness', 'in-process.ts'));
    expect(harness.length).toBeGreaterThan(10);
    expect(crossing(harness, ['mock'])).toEqual([]);
  });

  test('the in-process target is loaded lazily by the CLI, not at its top', () => {
    const cli = readFileSync(join(ROOT, 'harness', 'cli.ts'), 'utf8');
    expect(cli).not.toMatch(/^import .*'\.\/in-process'/m);
    expect(cli).toMatch(/require\('\.\/in-process'\)/);
  });

  test('the contract kit imports neither the mock nor the harness', () => {
    const kit = sources('contract-kit');
    expect(kit.length).toBeGreaterThanOrEqual(5);
    expect(crossing(kit, ['mock', 'harness'])).toEqual([]);
  });

  test('no stage of the mock imports the router above it', () => {
    const below = sources('mock').filter(
      (f) => !f.startsWith(join('mock', 'router')) && f !== join('mock', 'app.ts'),
    );
    const exceptions = [join('mock', 'admin', 'index.ts')]; // the admin plane builds its own router
    expect(
      crossing(
        below.filter((f) => !exceptions.includes(f)),
        ['mock/router'],
      ),
    ).toEqual([]);
  });
});

// An import cycle that reaches a value at load time (`const x = new Map([[IMPORTED, ...]])`) throws
// "Cannot access ... before initialization", but only when the cycle is entered from one particular
// module: a suite that imports that module first fails to load. Each module is loaded first here.
test.each(
  ['mock', 'contract-kit', 'harness', 'fixtures']
    .flatMap((dir) => sources(dir))
    .filter((f) => !f.endsWith('main.ts') && !f.endsWith('cli.ts')),
)('%s loads first, on its own (no import cycle breaks initialisation)', (file) => {
  jest.isolateModules(() => {
    // A module named at run time, loaded in a fresh registry: only require() does that.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(() => require(join(ROOT, file))).not.toThrow();
  });
});

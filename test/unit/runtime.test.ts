import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The runtime (docs/decisions.md "Runtime"): the Dockerfile's FROM lines are the one source of the image's
 * Node.js; scripts/node-image.sh reads them for .ci/run's second test pass and docker:verify's stand-in.
 * package.json's engines names the majors the suite runs on, and the README says the same. A bump that
 * misses one of them fails here, on either Node.js.
 */
const ROOT = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

type Version = [number, number, number];
const parse = (v: string): Version => v.replace(/^v/, '').split('.').map(Number) as Version;

/** `^A.B.C` (A > 0): the same major, at least that minor and patch. */
function satisfiesCaret(version: Version, range: string): boolean {
  const [major, minor, patch] = parse(range.slice(1));
  const [a, b, c] = version;
  return a === major && (b > minor || (b === minor && c >= patch));
}

const FROM_IMAGE =
  /^node:(?<version>(?<major>\d+)\.\d+\.\d+)-(?<debian>[a-z]+)-slim@sha256:(?<digest>[0-9a-f]{64})$/;
const dockerfile = read('Dockerfile');
const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]!);
const image = FROM_IMAGE.exec(froms[0] ?? '')?.groups ?? {};
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const ranges = pkg.engines.node.split('||').map((r) => r.trim());
const nodeImage = (command: string): string =>
  execFileSync('bash', [join(ROOT, 'scripts', 'node-image.sh'), command], { encoding: 'utf8' }).trim();

describe('the runtime', () => {
  test('every stage starts FROM one node:<x.y.z>-<debian>-slim image pinned by digest, and the labels name it', () => {
    expect(froms).toHaveLength(3);
    expect(new Set(froms).size).toBe(1);
    expect(froms[0]).toMatch(FROM_IMAGE);
    expect(dockerfile).toContain(
      `org.opencontainers.image.base.name="docker.io/library/node:${image.version}-${image.debian}-slim"`,
    );
    expect(dockerfile).toContain(`org.opencontainers.image.base.digest="sha256:${image.digest}"`);
    expect(dockerfile).toContain(`# Every stage starts from Node.js ${image.version} `);
  });

  test('scripts/node-image.sh reads that image, and knows the npm its Node.js bundles', () => {
    expect(nodeImage('ref')).toBe(froms[0]);
    expect(nodeImage('version')).toBe(image.version);
    expect(nodeImage('npm')).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("engines names the image's major from the image's version, and majors only by caret ranges", () => {
    for (const range of ranges) expect(range).toMatch(/^\^[1-9]\d*\.\d+\.\d+$/);
    expect(ranges).toContain(`^${image.version}`);
    const majors = ranges.map((r) => parse(r.slice(1))[0]);
    expect(new Set(majors).size).toBe(ranges.length);
    // The lock file's copy of the root package says the same.
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: object }> };
    expect(lock.packages['']!.engines).toEqual(pkg.engines);
  });

  test('the Node.js running this suite is one engines names (.ci/run runs it on each)', () => {
    expect(ranges.some((r) => satisfiesCaret(parse(process.version), r))).toBe(true);
  });

  test('@types/node is of the oldest major engines names (no API the oldest runtime lacks)', () => {
    const oldest = Math.min(...ranges.map((r) => parse(r.slice(1))[0]));
    expect(parse(pkg.devDependencies['@types/node']!)[0]).toBe(oldest);
  });

  test("the README names the image's base and its major in the CI example", () => {
    const readme = read('README.md');
    const tags = [...readme.matchAll(/node:\d+\.\d+\.\d+-[a-z]+-slim/g)].map((m) => m[0]);
    expect(tags.length).toBeGreaterThan(0);
    expect([...new Set(tags)]).toEqual([`node:${image.version}-${image.debian}-slim`]);
    const ciVersions = [...readme.matchAll(/node-version: (\d+)/g)].map((m) => m[1]);
    expect(ciVersions.length).toBeGreaterThan(0);
    for (const v of ciVersions) expect(v).toBe(image.major);
  });
});

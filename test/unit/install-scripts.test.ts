import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm ci` explains itself (issue 10): every dependency with an install script is named in package.json's
 * `allowScripts` (npm 11 then says nothing about it), and the README says why each is or is not allowed.
 */
const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Package names of the lock file's entries that have an install script. */
const withScripts = [
  ...new Set(
    Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
  ),
].sort();

test('every dependency with an install script is decided in allowScripts', () => {
  expect(withScripts.length).toBeGreaterThan(0);
  expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual(withScripts);
});

test('the README names each of them', () => {
  for (const name of withScripts) expect(readme).toContain(`\`${name}\``);
});

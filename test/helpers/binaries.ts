import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Daemons such as nginx live in /usr/sbin, which a non-login shell's PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Absolute path of the program `name`, looked up on PATH, then in /usr/sbin and /usr/bin.
 * Throws when it is missing, naming the Debian package to install: a test that needs it then fails
 * loudly instead of passing or skipping.
 */
export function requireBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${name} not found: install it with 'apt-get install -y ${debianPackage}' (npm test does this when run as root)`,
  );
}

// cmake-js with its output passed on line by line, less the lines that say nothing to the person
// running it (NOISE). Used by scripts/ensure-built.mjs (`npm test`, `npm run demo`); the tests run a
// configure through it and check what it prints.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** cmake-js always passes cmake --no-warn-unused-cli, and cmake then announces it. */
export const NOISE = [/^Not searching for unused variables given on the command line\.$/];

/**
 * Runs `cmake-js <args>` in the repository; stdout and stderr go to `out` and `err` (default: this
 * process's) without the NOISE lines. Resolves to whether it succeeded.
 *
 * @param {string[]} args cmake-js's arguments
 * @param {{ out?: import('node:stream').Writable, err?: import('node:stream').Writable }} [sinks] where its output goes
 * @returns {Promise<boolean>} whether cmake-js succeeded
 */
export async function cmakeJsQuiet(args, { out = process.stdout, err = process.stderr } = {}) {
  const cli = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['inherit', 'pipe', 'pipe'] });
  const quiet = (line) => NOISE.some((re) => re.test(line.replace(/\r$/, '')));
  const done = [child.stdout, child.stderr].map(
    (from, i) =>
      new Promise((resolve) => {
        const to = i === 0 ? out : err;
        let rest = '';
        from.setEncoding('utf8');
        from.on('data', (chunk) => {
          const lines = (rest + chunk).split('\n');
          rest = lines.pop();
          for (const line of lines) if (!quiet(line)) to.write(`${line}\n`);
        });
        from.on('end', () => {
          if (rest && !quiet(rest)) to.write(rest);
          resolve();
        });
      }),
  );
  const [code] = await Promise.all([new Promise((resolve) => child.on('close', resolve)), ...done]);
  return code === 0;
}

#!/usr/bin/env node
/**
 * Builds only when dist/ is older than the sources, so `npm run cli` (and
 * start, start:worker, migration:run) do not spend seconds rebuilding an
 * unchanged tree. `--stamp` records a build that just finished (npm run build
 * ends with it); `--check` only says `fresh` or `stale`. Plain JavaScript: it must run before anything is built.
 */
import { execSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.build-stamp';
const SOURCES = ['apps', 'libs', 'migrations', 'bench', 'scripts', '.swcrc', 'package.json', 'package-lock.json'];

function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file changes its directory
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
} else {
  let built = 0;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    built = 0;
  }
  const changed = Math.max(...SOURCES.map(newest));
  if (process.argv.includes('--check')) process.stdout.write(changed > built ? 'stale\n' : 'fresh\n');
  else if (changed > built) {
    if (process.env.BUILD_IF_STALE_VERBOSE) process.stderr.write('sources changed since the last build: building\n');
    execSync('npm run -s build', { stdio: 'inherit' });
  }
}

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * The tests import src/, but worker threads cannot run TypeScript through vite-node: core's pool
 * loads the package's dist/ build from there. Building first keeps it in step with src/.
 */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

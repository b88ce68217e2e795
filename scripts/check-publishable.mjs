// `npm publish` refuses until package.json says where the project lives: rxtask has no public home yet, and a
// guessed address would send users to someone else's page.
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const missing = ['repository', 'homepage', 'bugs'].filter((field) => manifest[field] === undefined);
if (missing.length > 0) {
  console.error(`package.json: set ${missing.join(', ')} before publishing`);
  process.exit(1);
}

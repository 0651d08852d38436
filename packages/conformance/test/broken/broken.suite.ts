import { httpFixture } from '../../src/fixtures/index.js';
import { runConformanceSuite } from '../../src/index.js';
import { type BrokenName, broken } from './downloaders.js';

const name = process.env.NECTAR_BROKEN as BrokenName;
const Broken = broken[name];
if (Broken === undefined) throw new Error(`NECTAR_BROKEN must name one of ${Object.keys(broken).join(', ')}`);

runConformanceSuite({ name, create: (config, listener) => new Broken(config, listener), fixture: httpFixture() });

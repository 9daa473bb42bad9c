// Jest starts the test files it has timed before (in its cache) slowest first, so that the workers
// finish together; files it never timed (every file of a clean clone, as in CI) it starts largest first.
// Size says little here: the Redis Cluster contract file is 40 lines and runs for 38 s, and started
// among the last it kept one worker busy alone at the end of the run. So a file Jest never timed counts
// as taking what test/durations.json says it took in a whole run (`scripts/test-durations.mjs` writes
// it); a file not in it either is started first, as Jest does.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sequencer from '@jest/test-sequencer';

const root = fileURLToPath(new URL('../..', import.meta.url));
const recorded = JSON.parse(readFileSync(new URL('../durations.json', import.meta.url), 'utf8'));

export default class SlowestFirstSequencer extends Sequencer {
  time(test) {
    const seconds = recorded[relative(root, test.path)];
    return super.time(test) ?? (seconds === undefined ? undefined : seconds * 1000);
  }
}

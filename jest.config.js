// Jest runs the TypeScript sources as native ES modules (NestJS 12 ships ESM only), compiled by swc
// with legacy decorators and their metadata, which Nest's dependency injection reads.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  // Sources import siblings as './x.js' (Node ESM resolution); Jest must find the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.cjs'],
  testSequencer: '<rootDir>/test/helpers/slowest-first-sequencer.mjs',
  testTimeout: 30000,
  // A server a failed test left open must not keep CI waiting: each file's cleanup already stops what
  // the helpers spawned, and children die with the worker (setpriv --pdeathsig).
  forceExit: true,
  // Three workers on this 2-core machine: the files spend most of their time waiting on timers, spawned
  // servers and sockets (the whole run used 41 % of both cores with two workers). A third worker took the
  // run from 423 s to 295 s, each file 4 % slower on average, with the timing tests' bounds still held.
  maxWorkers: 3,
};

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
  maxWorkers: 2,
};

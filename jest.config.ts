import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: true, tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  // Examples import the package by its name, as users do; tests run it from source.
  moduleNameMapper: { '^express-headroom$': '<rootDir>/lib/index.ts', '^express-headroom/compressor$': '<rootDir>/lib/compressor/index.ts' },
  testTimeout: 30_000,
  // Suites start real servers on loopback; two workers match the CI machine's two cores.
  maxWorkers: 2,
};

export default config;

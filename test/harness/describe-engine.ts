// Only for test files: the global setup and the benchmarks import env.ts, where jest's globals do not exist.
import { dockerSkipReason } from './env';

/**
 * `describe` for suites that need the engine. Outside CI without an engine the global setup printed one
 * line and set the skip variable, and these suites are reported as skipped; in CI the global setup fails
 * the run instead, so nothing is ever skipped there.
 */
export const describeEngine: jest.Describe = dockerSkipReason() ? describe.skip : describe;

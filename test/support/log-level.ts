import type { LogLevel } from '@nestjs/common';
import { AppConfig } from '../../src/config/app-config';

const LEVELS: Array<AppConfig['LOG_LEVEL']> = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * What the service under test logs: fatal only by default, since many specs make things fail on purpose (a lost
 * database, a refused capture, a drifted balance) and assert the outcome themselves. `TEST_LOG_LEVEL=warn npm test`
 * shows those lines too.
 */
export const TEST_LOG_LEVEL: AppConfig['LOG_LEVEL'] = (() => {
  const level = (process.env.TEST_LOG_LEVEL ?? 'fatal') as AppConfig['LOG_LEVEL'];
  if (!LEVELS.includes(level)) throw new Error(`TEST_LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  return level;
})();

/** The Nest log levels shown at TEST_LOG_LEVEL. */
export const TEST_LOG_LEVELS: LogLevel[] = LEVELS.slice(0, LEVELS.indexOf(TEST_LOG_LEVEL) + 1);

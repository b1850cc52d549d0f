import { Logger } from '@nestjs/common';
import { TEST_LOG_LEVELS } from './log-level';

// Logs of specs that use the service's parts without an application (migrations, scripts) at TEST_LOG_LEVEL too.
Logger.overrideLogger(TEST_LOG_LEVELS);

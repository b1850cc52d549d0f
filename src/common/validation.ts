import { ValidationPipe } from '@nestjs/common';

/** The one validation setup: unknown fields are refused, inputs are turned into their DTO classes. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
}

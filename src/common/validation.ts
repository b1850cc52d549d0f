import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';

/** Argument objects already validated in this request, with what validation made of them. */
const validated = new WeakMap<object, unknown>();

/**
 * The one validation setup: unknown fields are refused, inputs are turned into their DTO classes. An argument
 * object is validated once per request: @RequiresCredits validates before reserving, and the same object reaching
 * the handler's pipe afterwards is not checked a second time.
 */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const key = typeof value === 'object' && value !== null ? value : null;
    if (key && validated.has(key)) return validated.get(key);
    const result: unknown = await super.transform(value, metadata);
    if (key) validated.set(key, result);
    return result;
  }
}

export function createValidationPipe(): AppValidationPipe {
  return new AppValidationPipe();
}

/**
 * The base of each module's exception class. `code` is the module's own code enum; how a code is shown to
 * clients (GraphQL `extensions.code`, HTTP status) is decided in one place, `error-mapping.ts`.
 */
export abstract class DomainException<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    /** Extra fields shown to the client beside the code. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

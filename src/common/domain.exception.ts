import { HttpStatus } from '@nestjs/common';

/** How clients see an error: GraphQL `extensions.code` (also a REST error body's `code`) and the HTTP status. */
export interface PublicForm {
  code: string;
  status: number;
}

export const NOT_FOUND: PublicForm = { code: 'NOT_FOUND', status: HttpStatus.NOT_FOUND };
export const BAD_USER_INPUT: PublicForm = { code: 'BAD_USER_INPUT', status: HttpStatus.BAD_REQUEST };

/**
 * The base of each module's exception class. `code` is the module's own code enum; each module declares, beside
 * its codes, how every one of them is shown to clients (`publicForm`), so a code without a form does not compile.
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

  abstract get publicForm(): PublicForm;
}

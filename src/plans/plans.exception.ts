import { DomainException, NOT_FOUND, PublicForm } from '../common/domain.exception';

export enum PlansErrorCode {
  PLAN_NOT_FOUND = 'PLAN_NOT_FOUND',
  PACKAGE_NOT_FOUND = 'PACKAGE_NOT_FOUND',
}

/** How clients see each of these errors. */
const PLANS_ERRORS: Record<PlansErrorCode, PublicForm> = {
  [PlansErrorCode.PLAN_NOT_FOUND]: NOT_FOUND,
  [PlansErrorCode.PACKAGE_NOT_FOUND]: NOT_FOUND,
};

export class PlansException extends DomainException<PlansErrorCode> {
  get publicForm(): PublicForm {
    return PLANS_ERRORS[this.code];
  }
}

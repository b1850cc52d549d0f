import { DomainException } from '../common/domain.exception';

export enum PlansErrorCode {
  PLAN_NOT_FOUND = 'PLAN_NOT_FOUND',
  PACKAGE_NOT_FOUND = 'PACKAGE_NOT_FOUND',
}

export class PlansException extends DomainException<PlansErrorCode> {}

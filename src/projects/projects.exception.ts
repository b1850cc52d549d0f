import { DomainException } from '../common/domain.exception';

export enum ProjectsErrorCode {
  PROJECT_NOT_FOUND = 'PROJECT_NOT_FOUND',
}

export class ProjectsException extends DomainException<ProjectsErrorCode> {}

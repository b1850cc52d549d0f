import { DomainException, NOT_FOUND, PublicForm } from '../common/domain.exception';

export enum ProjectsErrorCode {
  PROJECT_NOT_FOUND = 'PROJECT_NOT_FOUND',
}

/** How clients see each of these errors. */
const PROJECTS_ERRORS: Record<ProjectsErrorCode, PublicForm> = {
  [ProjectsErrorCode.PROJECT_NOT_FOUND]: NOT_FOUND,
};

export class ProjectsException extends DomainException<ProjectsErrorCode> {
  get publicForm(): PublicForm {
    return PROJECTS_ERRORS[this.code];
  }
}

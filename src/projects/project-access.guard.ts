import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { requestOf } from '../common/request-context';
import { ProjectsService } from './projects.service';

/**
 * The project named by `projectId` must be the caller's. As a guard it runs before @RequiresCredits reserves
 * anything, so a request for an unknown or foreign project is refused (NOT_FOUND) without touching the ledger.
 */
@Injectable()
export class ProjectAccessGuard implements CanActivate {
  constructor(private readonly projects: ProjectsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { projectId } = GqlExecutionContext.create(context).getArgs<{ projectId?: unknown }>();
    const account = requestOf(context).account;
    if (!account || typeof projectId !== 'string') return true; // auth and validation answer these
    await this.projects.assertOwned(account.id, projectId);
    return true;
  }
}

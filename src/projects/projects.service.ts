import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { CreditType } from '../credits/credit-type.enum';
import { CreditsService } from '../credits/credits.service';
import { ChatMessageEntity } from './entities/chat-message.entity';
import { IntegrationRunEntity } from './entities/integration-run.entity';
import { ProjectEntity } from './entities/project.entity';
import { ProjectsErrorCode, ProjectsException } from './projects.exception';

/**
 * The host application's own logic. Credits are handled by @RequiresCredits on the resolver, not here; the writes
 * take the transaction they are given, so that the resolver can make them and their charge one commit, and the
 * service's clock, the one the ledger stamps the charge with.
 */
@Injectable()
export class ProjectsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly credits: CreditsService,
    private readonly clock: Clock,
    @InjectRepository(ProjectEntity) private readonly projects: Repository<ProjectEntity>,
  ) {}

  list(accountId: string): Promise<ProjectEntity[]> {
    return this.projects.find({ where: { accountId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** `manager`: the transaction to write in (a metered call's, so that the row and its charge commit together). */
  create(accountId: string, name: string, manager: EntityManager = this.dataSource.manager): Promise<ProjectEntity> {
    return manager.save(manager.create(ProjectEntity, { accountId, name, createdAt: this.clock.now() }));
  }

  /**
   * Deletes a project and gives its PROJECT unit back in the same transaction. Of two concurrent deletions only
   * one removes the row, so the unit comes back once.
   */
  async delete(accountId: string, projectId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const { affected } = await manager.delete(ProjectEntity, { id: projectId, accountId });
      if (!affected) throw this.notFound(projectId);
      await this.credits.returnUnits(manager, accountId, CreditType.PROJECT, 1, `project:${projectId}`, 'project deleted');
    });
  }

  async sendMessage(
    accountId: string,
    projectId: string,
    text: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ChatMessageEntity> {
    await this.owned(accountId, projectId, manager);
    return manager.save(manager.create(ChatMessageEntity, { accountId, projectId, text, createdAt: this.clock.now() }));
  }

  async runIntegration(
    accountId: string,
    projectId: string,
    calls: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<IntegrationRunEntity> {
    await this.owned(accountId, projectId, manager);
    return manager.save(manager.create(IntegrationRunEntity, { accountId, projectId, calls, createdAt: this.clock.now() }));
  }

  /** A project of another account is reported exactly like one that does not exist. */
  async assertOwned(accountId: string, projectId: string): Promise<void> {
    await this.owned(accountId, projectId);
  }

  /** Inside a transaction, through its manager: a second connection taken meanwhile could wait on a full pool. */
  private async owned(
    accountId: string,
    projectId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ProjectEntity> {
    const project = isUUID(projectId) ? await manager.findOneBy(ProjectEntity, { id: projectId, accountId }) : null;
    if (!project) throw this.notFound(projectId);
    return project;
  }

  private notFound(projectId: string): ProjectsException {
    return new ProjectsException(ProjectsErrorCode.PROJECT_NOT_FOUND, `There is no project ${projectId}.`);
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { DataSource, EntityManager, EntityTarget, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { pageInCreationOrder } from '../common/creation-order-page';
import { Page } from '../common/pagination';
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
 *
 * Each write is one statement: a message or a run is inserted only when its project is the caller's (the ownership
 * check and the insert in one round trip), without the transaction TypeORM's `save()` would wrap around it.
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

  /** The account's projects in the order of `list`, `first` at a time after the cursor (creation time and id). */
  page(accountId: string, first: number, after?: string | null): Promise<Page<ProjectEntity>> {
    return pageInCreationOrder(this.projects, accountId, first, after, 'ASC');
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

  sendMessage(
    accountId: string,
    projectId: string,
    text: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ChatMessageEntity> {
    return this.insertIntoProject(manager, ChatMessageEntity, accountId, projectId, { text });
  }

  runIntegration(
    accountId: string,
    projectId: string,
    calls: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<IntegrationRunEntity> {
    return this.insertIntoProject(manager, IntegrationRunEntity, accountId, projectId, { calls });
  }

  /** A project of another account is reported exactly like one that does not exist. */
  async assertOwned(accountId: string, projectId: string): Promise<void> {
    const owned = isUUID(projectId) && (await this.projects.existsBy({ id: projectId, accountId }));
    if (!owned) throw this.notFound(projectId);
  }

  /**
   * `INSERT ... SELECT ... FROM projects WHERE` the project is the account's `RETURNING` the row: one statement, in
   * the transaction of `manager` when it has one. No row back means no such project of this account.
   */
  private async insertIntoProject<T extends { accountId: string; projectId: string; createdAt: Date }>(
    manager: EntityManager,
    entity: EntityTarget<T>,
    accountId: string,
    projectId: string,
    values: Partial<Omit<T, 'id' | 'accountId' | 'projectId' | 'createdAt'>>,
  ): Promise<T> {
    if (!isUUID(projectId)) throw this.notFound(projectId);
    const metadata = manager.connection.getMetadata(entity);
    const given = { accountId, createdAt: this.clock.now(), ...values } as Record<string, unknown>;
    const columns = Object.keys(given).map((property) => metadata.findColumnWithPropertyName(property)!);
    // Parameters in a SELECT list have no type of their own: each is cast to its column's.
    const [row] = await manager.query(
      `INSERT INTO ${metadata.tableName} (project_id, ${columns.map((column) => column.databaseName).join(', ')})
       SELECT id, ${columns.map((column, i) => `$${i + 3}::${String(column.type)}`).join(', ')}
       FROM projects WHERE id = $1 AND account_id = $2
       RETURNING *`,
      [projectId, accountId, ...Object.values(given)],
    );
    if (!row) throw this.notFound(projectId);
    return manager.create(entity, Object.fromEntries(metadata.columns.map((column) => [column.propertyName, row[column.databaseName]])) as T);
  }

  private notFound(projectId: string): ProjectsException {
    return new ProjectsException(ProjectsErrorCode.PROJECT_NOT_FOUND, `There is no project ${projectId}.`);
  }
}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CreditsModule } from '../credits/credits.module';
import { ChatMessageEntity } from './entities/chat-message.entity';
import { IntegrationRunEntity } from './entities/integration-run.entity';
import { ProjectEntity } from './entities/project.entity';
import { ProjectAccessGuard } from './project-access.guard';
import { ProjectsResolver } from './projects.resolver';
import { ProjectsService } from './projects.service';

@Module({
  imports: [CreditsModule, TypeOrmModule.forFeature([ProjectEntity, ChatMessageEntity, IntegrationRunEntity])],
  providers: [ProjectsService, ProjectAccessGuard, ProjectsResolver],
  exports: [ProjectsService],
})
export class ProjectsModule {}

import { ArgsType, Field, ID, Int } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsInt, IsString, IsUUID, Length, Max, Min } from 'class-validator';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export const MAX_INTEGRATION_CALLS = 1000;

@ArgsType()
export class CreateProjectArgs {
  @Field({ description: '1 to 100 characters, trimmed' })
  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: 'name must be 1 to 100 characters' })
  name!: string;
}

@ArgsType()
export class ProjectIdArgs {
  @Field(() => ID, { description: "one of the caller's projects" })
  @IsUUID('all', { message: 'id must be a project id (a UUID)' })
  id!: string;
}

@ArgsType()
export class SendChatMessageArgs {
  @Field(() => ID, { description: "one of the caller's projects" })
  @IsUUID('all', { message: 'projectId must be a project id (a UUID)' })
  projectId!: string;

  @Field({ description: '1 to 4000 characters' })
  @IsString()
  @Length(1, 4000, { message: 'text must be 1 to 4000 characters' })
  text!: string;
}

@ArgsType()
export class RunIntegrationArgs {
  @Field(() => ID, { description: "one of the caller's projects" })
  @IsUUID('all', { message: 'projectId must be a project id (a UUID)' })
  projectId!: string;

  @Field(() => Int, {
    description: `how many calls to make (and INTEGRATION credits to charge): 1 to ${MAX_INTEGRATION_CALLS}`,
  })
  @IsInt()
  @Min(1)
  @Max(MAX_INTEGRATION_CALLS)
  calls!: number;
}

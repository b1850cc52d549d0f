import { MigrationInterface, QueryRunner } from 'typeorm';

/** The example host module's own data: projects with their chat messages and integration runs. */
export class Projects1795258800300 implements MigrationInterface {
  name = 'Projects1795258800300';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE projects (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id  text NOT NULL REFERENCES accounts (id),
        name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX projects_account_idx ON projects (account_id, created_at);

      CREATE TABLE chat_messages (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        account_id  text NOT NULL,
        text        text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 4000),
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX chat_messages_project_idx ON chat_messages (project_id, created_at);

      CREATE TABLE integration_runs (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        account_id  text NOT NULL,
        calls       integer NOT NULL CHECK (calls BETWEEN 1 AND 1000),
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX integration_runs_project_idx ON integration_runs (project_id, created_at);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE integration_runs; DROP TABLE chat_messages; DROP TABLE projects;`);
  }
}

/**
 * The bare twin of the service's request stack: NestJS with `@nestjs/apollo` and one trivial mutation, from the
 * project's own dependencies and nothing else (no logging, security headers, guards, limits or validation). What a
 * trivial request costs here is the floor the service's own layers are read against.
 */
import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';

@Resolver()
class HelloResolver {
  @Query(() => String)
  hello(): string {
    return 'world';
  }

  @Mutation(() => String)
  ping(): string {
    return 'pong';
  }
}

@Module({
  imports: [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true })],
  providers: [HelloResolver],
})
class BareModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(BareModule, { logger: ['error'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.send?.('ready');
}

void main();

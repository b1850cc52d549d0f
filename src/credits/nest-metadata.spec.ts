import 'reflect-metadata';
import { Body, Controller, Param, Post, Query } from '@nestjs/common';
import { Args, Field, InputType, Int, Mutation, Query as GraphQLQuery, Resolver } from '@nestjs/graphql';
import { handlerArguments, rootFieldOf } from './nest-metadata';

@InputType()
class NoteInput {
  @Field()
  text!: string;
}

class CallsQuery {
  calls!: number;
}

@Resolver()
class ExampleResolver {
  @Mutation(() => Boolean)
  writeNote(@Args('input') input: NoteInput, @Args('count', { type: () => Int }) count: number): boolean {
    return Boolean(input && count);
  }

  @GraphQLQuery(() => Boolean, { name: 'renamedField' })
  read(): boolean {
    return true;
  }

  helper(): boolean {
    return false;
  }
}

@Controller()
class ExampleController {
  @Post(':id')
  run(@Param('id') id: string, @Query() query: CallsQuery, @Body() body: NoteInput): string {
    return `${id}${String(query)}${String(body)}`;
  }
}

describe('what Nest tells about a handler (the assumptions @RequiresCredits relies on)', () => {
  it('finds the @Args() parameters of a resolver with their DTO classes and names', () => {
    const found = handlerArguments(ExampleResolver, 'writeNote', true);
    expect(found).toEqual(
      expect.arrayContaining([
        { source: 'args', data: 'input', metatype: NoteInput },
        { source: 'args', data: 'count', metatype: Number },
      ]),
    );
    expect(found).toHaveLength(2);
  });

  it('finds the body, query and route parameters of a controller, each with its own source', () => {
    expect(handlerArguments(ExampleController, 'run', false)).toEqual(
      expect.arrayContaining([
        { source: 'params', data: 'id', metatype: String },
        { source: 'query', metatype: CallsQuery },
        { source: 'body', metatype: NoteInput },
      ]),
    );
  });

  it('names the root field a resolver method serves', () => {
    const prototype = ExampleResolver.prototype as unknown as Record<string, object>;
    expect(rootFieldOf(prototype.writeNote, 'writeNote')).toEqual({ rootType: 'Mutation', fieldName: 'writeNote' });
    expect(rootFieldOf(prototype.read, 'read')).toEqual({ rootType: 'Query', fieldName: 'renamedField' });
    expect(rootFieldOf(prototype.helper, 'helper')).toBeNull();
  });
});

import { Body, Controller, Module, Post, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import { Args, Int, Mutation, Resolver } from '@nestjs/graphql';
import { CreditType } from '../../src/credits/credit-type.enum';
import { RestArguments } from '../../src/credits/credits.interceptor';
import { Metered, MeteredCall } from '../../src/credits/metered-call';
import { RequiresCredits } from '../../src/credits/requires-credits.decorator';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Guarded operations that fail or behave in particular ways, to test what @RequiresCredits does around them. */
@Resolver()
export class GuardedTestResolver {
  static completed = 0;

  @RequiresCredits({ type: CreditType.MESSAGE, amount: 2 })
  @Mutation(() => Boolean)
  failBeforeAwait(): boolean {
    throw new Error('database password is hunter2');
  }

  @RequiresCredits({ type: CreditType.MESSAGE, amount: 2 })
  @Mutation(() => Boolean)
  async failAfterAwait(): Promise<boolean> {
    await sleep(20);
    throw new Error('upstream model timed out');
  }

  @RequiresCredits({ type: CreditType.INTEGRATION, amount: 10 })
  @Mutation(() => Int)
  partialIntegration(@Args('used', { type: () => Int }) used: number, @Metered() call: MeteredCall): number {
    call.reportActual(CreditType.INTEGRATION, used);
    return used;
  }

  @RequiresCredits({ type: CreditType.MESSAGE, amount: 1 })
  @Mutation(() => Boolean)
  async slowMessage(@Args('ms', { type: () => Int }) ms: number, @Metered() call: MeteredCall): Promise<boolean> {
    await sleep(ms);
    GuardedTestResolver.completed++;
    return !call.aborted;
  }

  static stopped = 0;

  /** Stops with an error when its client has gone: such a call is not charged. */
  @RequiresCredits({ type: CreditType.MESSAGE, amount: 1 })
  @Mutation(() => Boolean)
  async stopsWhenAbandoned(@Args('ms', { type: () => Int }) ms: number, @Metered() call: MeteredCall): Promise<boolean> {
    await sleep(ms);
    if (call.signal.aborted) {
      GuardedTestResolver.stopped++;
      throw new Error('the client went away');
    }
    return true;
  }

  @Mutation(() => Boolean)
  unguarded(): boolean {
    return true;
  }
}

class IntegrationCallsQuery {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  calls!: number;
}

class NoteBody {
  @IsString()
  @Length(1, 100)
  text!: string;
}

@Controller('test')
export class GuardedTestController {
  /** Charged from the query string, which is where the handler reads `calls` from. */
  @RequiresCredits<RestArguments>({ type: CreditType.INTEGRATION, amount: (args) => args.query.calls })
  @Post('integrations')
  integrations(@Query() query: IntegrationCallsQuery): { calls: number } {
    return { calls: query.calls };
  }

  /** A body DTO: other parts of the request (a query string) are not the body's business. */
  @RequiresCredits({ type: CreditType.MESSAGE, amount: 1 })
  @Post('notes')
  note(@Body() body: NoteBody): { text: string } {
    return { text: body.text };
  }

  @RequiresCredits({ type: CreditType.INTEGRATION, amount: 500 })
  @Post('expensive')
  expensive(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ providers: [GuardedTestResolver], controllers: [GuardedTestController] })
export class GuardedTestModule {}

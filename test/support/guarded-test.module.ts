import { Controller, Module, Post } from '@nestjs/common';
import { Args, Int, Mutation, Resolver } from '@nestjs/graphql';
import { CreditType } from '../../src/credits/credit-type.enum';
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

  @Mutation(() => Boolean)
  unguarded(): boolean {
    return true;
  }
}

@Controller('test')
export class GuardedTestController {
  @RequiresCredits({ type: CreditType.INTEGRATION, amount: 500 })
  @Post('expensive')
  expensive(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ providers: [GuardedTestResolver], controllers: [GuardedTestController] })
export class GuardedTestModule {}

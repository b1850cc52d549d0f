import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount, Role } from '../auth/role.enum';
import { Roles } from '../auth/roles.decorator';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { CreditsService } from './credits.service';
import { ConsumeCreditsBatchInput } from './dtos/inputs/consume-credits-batch.input';
import { ConsumeCreditsInput } from './dtos/inputs/consume-credits.input';
import { ConsumeBatchResultOutput } from './dtos/outputs/consume-batch-result.output';
import { GrantCreditsInput } from './dtos/inputs/grant-credits.input';
import { ConsumeResultOutput } from './dtos/outputs/consume-result.output';
import { CreditTransactionOutput } from './dtos/outputs/credit-transaction.output';
import { CreditTransactionEntity } from './entities/credit-transaction.entity';
import { consumeResult, usageEvent, usageEvents } from './metering';

@Resolver()
export class CreditsResolver {
  constructor(
    private readonly credits: CreditsService,
    @InjectRepository(CreditTransactionEntity) private readonly transactions: Repository<CreditTransactionEntity>,
  ) {}

  /** Server-to-server metering: the service and admin roles may charge any account, a user only their own. */
  @Mutation(() => ConsumeResultOutput, {
    description:
      'server-to-server metering of MESSAGE and INTEGRATION: charges one usage event at once (allowance first, then ' +
      'the wallet); a refusal is an answer (allowed: false), not an error. PROJECT is a quota that only creating and ' +
      'deleting projects moves: it is refused',
  })
  async consumeCredits(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('input', { description: 'the usage event' }) input: ConsumeCreditsInput,
  ): Promise<ConsumeResultOutput> {
    const { accountId, charge, options } = usageEvent(caller, input);
    return consumeResult(await this.credits.consume(accountId, charge, options));
  }

  @Mutation(() => ConsumeBatchResultOutput, {
    description:
      'metering in bulk: up to 1,000 usage events in one request, each answered as consumeCredits would answer it; ' +
      'an event that is not well formed, meters PROJECT, or names an account the caller may not charge, refuses the ' +
      'whole batch',
  })
  async consumeCreditsBatch(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('input', { description: 'the usage events' }) input: ConsumeCreditsBatchInput,
  ): Promise<ConsumeBatchResultOutput> {
    const events = usageEvents(caller, input.events);
    return { results: (await this.credits.consumeMany(events)).map(consumeResult) };
  }

  @Roles(Role.ADMIN)
  @Mutation(() => CreditTransactionOutput, {
    description:
      'admin only; the grant goes to the wallet. An account that does not exist yet is refused (NOT_FOUND, reason ACCOUNT_NOT_FOUND) ' +
      'unless createAccount is true',
  })
  async grantCredits(
    @CurrentAccount() admin: AuthenticatedAccount,
    @Args('input', { description: 'the grant' }) input: GrantCreditsInput,
  ): Promise<CreditTransactionOutput> {
    const outcome = await this.credits.grant({
      accountId: input.accountId,
      amount: input.amount,
      kind: 'ADMIN',
      sourceKey: `admin:${input.idempotencyKey}`,
      description: input.reason,
      reference: `granted by ${admin.id}`,
      createAccount: input.createAccount ?? false,
    });
    if (!outcome.created && (outcome.accountId !== input.accountId || outcome.amount !== input.amount)) {
      throw new CreditsException(
        CreditsErrorCode.IDEMPOTENCY_CONFLICT,
        'This idempotency key was already used for a different grant.',
      );
    }
    return CreditTransactionOutput.from(await this.transactions.findOneByOrFail({ id: outcome.transactionId }));
  }
}

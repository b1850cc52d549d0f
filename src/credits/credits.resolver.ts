import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuthErrorCode, AuthException } from '../auth/auth.exception';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount, hasRole, Role } from '../auth/role.enum';
import { Roles } from '../auth/roles.decorator';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { CreditsService } from './credits.service';
import { ConsumeCreditsInput } from './dtos/inputs/consume-credits.input';
import { GrantCreditsInput } from './dtos/inputs/grant-credits.input';
import { ConsumeResultOutput } from './dtos/outputs/consume-result.output';
import { CreditTransactionOutput } from './dtos/outputs/credit-transaction.output';
import { CreditTransactionEntity } from './entities/credit-transaction.entity';

@Resolver()
export class CreditsResolver {
  constructor(
    private readonly credits: CreditsService,
    @InjectRepository(CreditTransactionEntity) private readonly transactions: Repository<CreditTransactionEntity>,
  ) {}

  /** Server-to-server metering: the service and admin roles may charge any account, a user only their own. */
  @Mutation(() => ConsumeResultOutput)
  async consumeCredits(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('input') input: ConsumeCreditsInput,
  ): Promise<ConsumeResultOutput> {
    const accountId = input.accountId ?? caller.id;
    if (accountId !== caller.id && !hasRole(caller, Role.SERVICE, Role.ADMIN)) {
      throw new AuthException(AuthErrorCode.FORBIDDEN, 'Only the service and admin roles may charge another account.');
    }
    const outcome = await this.credits.consume(
      accountId,
      { type: input.creditType, amount: input.amount },
      { idempotencyKey: input.idempotencyKey, description: input.description },
    );
    return {
      allowed: outcome.allowed,
      creditType: outcome.creditType,
      charged: outcome.charged,
      fromAllowance: outcome.fromAllowance,
      fromWallet: outcome.fromWallet,
      remaining: outcome.remaining,
      replayed: outcome.replayed,
      reason: outcome.refusal?.code ?? null,
      message: outcome.refusal?.message ?? null,
    };
  }

  @Roles(Role.ADMIN)
  @Mutation(() => CreditTransactionOutput, { description: 'admin only; the grant goes to the wallet' })
  async grantCredits(
    @CurrentAccount() admin: AuthenticatedAccount,
    @Args('input') input: GrantCreditsInput,
  ): Promise<CreditTransactionOutput> {
    const outcome = await this.credits.grant({
      accountId: input.accountId,
      amount: input.amount,
      kind: 'ADMIN',
      sourceKey: `admin:${input.idempotencyKey}`,
      description: input.reason,
      reference: `granted by ${admin.id}`,
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

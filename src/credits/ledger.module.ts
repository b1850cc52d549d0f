import { Module } from '@nestjs/common';
import { LedgerFunctions } from './ledger-functions';

/** The ledger's database functions: the one writer of credits, for every module that moves them. */
@Module({ providers: [LedgerFunctions], exports: [LedgerFunctions] })
export class LedgerModule {}

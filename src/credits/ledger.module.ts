import { Module } from '@nestjs/common';
import { LedgerBatches } from './group-commit';
import { Ledger } from './ledger';

/** The ledger's database functions and their group commit: the one writer of credits, for every module that moves them. */
@Module({ providers: [Ledger, LedgerBatches], exports: [Ledger, LedgerBatches] })
export class LedgerModule {}

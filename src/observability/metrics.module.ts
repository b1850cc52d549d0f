import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** Metrics are counted everywhere, including operator commands that start no HTTP server. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}

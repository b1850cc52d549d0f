import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { AppConfig } from '../config/app-config';
import { RenewalService } from './renewal.service';

const JOB = 'credits-renewal';

/**
 * Runs the renewal on CREDITS_CRON on every instance (safe: see RenewalService). Not started under NODE_ENV=test,
 * where tests run the renewal themselves at the moments they choose.
 */
@Injectable()
export class RenewalScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RenewalScheduler.name);
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly renewal: RenewalService,
    private readonly registry: SchedulerRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.NODE_ENV === 'test') return;
    const job = CronJob.from({ cronTime: this.config.CREDITS_CRON, onTick: () => this.tick(), start: true });
    this.registry.addCronJob(JOB, job);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('cron', JOB)) await this.registry.getCronJob(JOB).stop();
    await this.running;
  }

  /** One run; a tick that finds the previous one still running on this instance skips. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.renewal.run().catch((error: unknown) => {
      this.logger.error(`Renewal run failed: ${error instanceof Error ? error.stack : String(error)}`);
    });
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }
}

import { Controller, Get, Header } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { Role } from '../auth/role.enum';
import { Roles } from '../auth/roles.decorator';
import { MetricsService } from './metrics.service';
import { SkipRateLimits } from '../auth/rate-limit.guard';

@Controller()
@SkipRateLimits()
export class ObservabilityController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly metrics: MetricsService,
  ) {}

  /** Liveness and readiness: 200 when PostgreSQL answers within 1.5 s, 503 otherwise. */
  @Public()
  @Get('healthz')
  @HealthCheck()
  check() {
    return this.health.check([() => this.database.pingCheck('database', { timeout: 1500 })]);
  }

  /** Prometheus text; scrape it with a token carrying the admin or service role. */
  @Roles(Role.ADMIN, Role.SERVICE)
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  render(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

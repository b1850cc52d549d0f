import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { InFlightRequests } from './in-flight-requests';
import { ObservabilityController } from './observability.controller';

/** The HTTP side of observability: health, metrics endpoint, request timing and draining. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [ObservabilityController],
  providers: [InFlightRequests],
  exports: [InFlightRequests],
})
export class ObservabilityModule implements NestModule {
  constructor(private readonly inFlight: InFlightRequests) {}

  configure(consumer: MiddlewareConsumer): void {
    // Bound to the provider itself: a middleware class would get an instance of its own, and shutdown would wait
    // on a counter nobody increments.
    consumer.apply(this.inFlight.use.bind(this.inFlight)).forRoutes('*path');
  }
}

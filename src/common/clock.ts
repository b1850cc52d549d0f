import { Injectable } from '@nestjs/common';

/** The service's one notion of "now", so that tests and operator commands can move time. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

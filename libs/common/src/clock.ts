import { Injectable } from '@nestjs/common';

/** The time services act at; tests replace it to cross week boundaries and expiries. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

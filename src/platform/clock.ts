/**
 * Time is injected everywhere (architecture.md "Habits"): domain code never calls Date.now().
 * Tests drive a ManualClock; demos may run a scaled clock.
 */
export interface Clock {
  /** Current time in milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private current: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}

/** Real time running `factor` times faster from the moment it is made (for drills and demos). */
export class ScaledClock implements Clock {
  private readonly origin = Date.now();
  constructor(private readonly factor: number) {}
  now(): number {
    const real = Date.now();
    return this.origin + (real - this.origin) * this.factor;
  }
}

export const epochSeconds = (clock: Clock): number => Math.floor(clock.now() / 1000);

/**
 * Circuit breaker around the compress call. Closed: calls go through. After `failureThreshold`
 * consecutive failures it opens: no calls for `cooldownMs`, requests go on at once per the
 * fallback. Then one probe is let through (half-open); success closes it, failure re-opens it.
 */
export type BreakerState = 'closed' | 'open' | 'half_open' | 'off';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private stateValue: 'closed' | 'open' | 'half_open' = 'closed';

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly onChange: (from: BreakerState, to: BreakerState, failures: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.cooldownMs) return 'half_open';
    return this.stateValue;
  }

  /** May a call go out now? In half-open, only one probe at a time. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.probing) return false;
    if (this.stateValue !== 'half_open') this.transition('half_open');
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    if (this.stateValue !== 'closed') this.transition('closed');
  }

  failure(): void {
    this.failures++;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe || (this.stateValue === 'closed' && this.failures >= this.failureThreshold)) {
      this.openedAt = this.now();
      this.transition('open');
    }
  }

  /** A call that ended without telling us about the service (e.g. the client left): frees a probe slot. */
  release(): void {
    this.probing = false;
  }

  private transition(to: 'closed' | 'open' | 'half_open') {
    const from = this.stateValue;
    this.stateValue = to;
    this.onChange(from, to, this.failures);
  }
}

import { CircuitBreaker, type CircuitTransition } from '../../services/shared/failover/circuit-breaker';

/** A breaker on a clock the test moves by hand. */
function breaker(failureThreshold = 3, openMs = 1000) {
  let now = 0;
  const circuit = new CircuitBreaker({ failureThreshold, openMs, now: () => now });
  const transitions: CircuitTransition[] = [];
  circuit.onTransition((transition) => transitions.push(transition));
  return { circuit, transitions, advance: (ms: number) => void (now += ms) };
}

/** One call through the breaker that fails transiently (acquire first, as the failover provider does). */
function failOnce(circuit: CircuitBreaker): boolean {
  const allowed = circuit.tryAcquire();
  if (allowed) circuit.failed();
  return allowed;
}

describe('a provider circuit', () => {
  test('opens after the threshold of consecutive transient failures, and an answer in between starts the count again', () => {
    const { circuit, transitions } = breaker(3);
    failOnce(circuit);
    failOnce(circuit);
    expect(circuit.tryAcquire()).toBe(true);
    circuit.succeeded(); // the provider answered: the streak is over
    failOnce(circuit);
    failOnce(circuit);
    expect(circuit.state).toBe('closed');
    failOnce(circuit);
    expect(circuit.state).toBe('open');
    expect(transitions).toEqual([{ state: 'open', remote: false, remainingMs: 1000 }]);
    expect(circuit.tryAcquire()).toBe(false);
  });

  test('after the open time lets exactly one probe through; a good probe closes it, a failed one opens it again', () => {
    const { circuit, transitions, advance } = breaker(1, 1000);
    failOnce(circuit);
    advance(999);
    expect(circuit.tryAcquire()).toBe(false);
    advance(1);
    expect(circuit.state).toBe('half-open');
    expect(circuit.tryAcquire()).toBe(true);
    expect(circuit.tryAcquire()).toBe(false); // one probe at a time
    circuit.failed();
    expect(circuit.state).toBe('open');
    expect(circuit.remainingMs).toBe(1000);

    advance(1000);
    expect(circuit.tryAcquire()).toBe(true);
    circuit.succeeded();
    expect(circuit.state).toBe('closed');
    expect(transitions.map((transition) => transition.state)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  test('a probe that ends without news about the provider (credentials refused) frees the probe slot and changes nothing', () => {
    const { circuit, advance } = breaker(1, 1000);
    failOnce(circuit);
    advance(1000);
    expect(circuit.tryAcquire()).toBe(true);
    circuit.released();
    expect(circuit.state).toBe('half-open');
    expect(circuit.tryAcquire()).toBe(true);
  });

  test("adopts another replica's open and closed states, marked remote, keeping the later deadline", () => {
    const { circuit, transitions, advance } = breaker(5, 1000);
    circuit.adoptOpen(3000);
    expect(circuit.state).toBe('open');
    expect(circuit.tryAcquire()).toBe(false);
    circuit.adoptOpen(500); // an older announcement does not shorten the wait
    expect(circuit.remainingMs).toBe(3000);
    advance(2000);
    circuit.adoptOpen(2500);
    expect(circuit.remainingMs).toBe(2500);
    circuit.adoptClosed();
    expect(circuit.state).toBe('closed');
    expect(circuit.tryAcquire()).toBe(true);
    expect(transitions).toEqual([
      { state: 'open', remote: true, remainingMs: 3000 },
      { state: 'closed', remote: true },
    ]);
  });

  test('with an unreachable threshold (a lone provider) it never opens', () => {
    const { circuit } = breaker(Infinity);
    for (let index = 0; index < 1000; index += 1) failOnce(circuit);
    expect(circuit.state).toBe('closed');
  });
});

import type { Logger } from '../logger/logger';
import type { BrokerConnection } from '../messaging/connection';
import type { MessageType } from '../messaging/topology';
import type { Provider } from '../worker/provider';
import type { WorkerConfig } from '../worker/worker-config';
import type { WorkerMetrics } from '../worker/worker-metrics';
import { CircuitBreaker, CIRCUIT_STATE_VALUE } from './circuit-breaker';
import { CircuitBus } from './circuit-bus';
import { createFailoverProvider } from './failover-provider';
import type { NamedProvider } from './providers-config';

export interface WorkerFailover<T extends MessageType> {
  /** The one provider the delivery handler calls: the configured ones in failover order. */
  provider: Provider<T>;
  /** Shares the circuits with the other replicas once started; absent with one provider. */
  bus: CircuitBus | undefined;
}

/**
 * Wires a worker's providers for failover: a circuit per provider (metrics and logs follow its transitions), the
 * failover provider over them, and the bus that shares their states with the worker's other replicas.
 */
export function createWorkerFailover<T extends MessageType>(
  type: T,
  providers: readonly NamedProvider<T>[],
  deps: { config: WorkerConfig; metrics: WorkerMetrics; logger: Logger; connection: BrokerConnection },
): WorkerFailover<T> {
  const { config, metrics, logger } = deps;
  const several = providers.length > 1;
  const circuits = new Map(
    providers.map(({ name }) => {
      // A lone provider has nowhere to fail over to: its circuit never opens (the delay queues and the credentials
      // pause handle its outages as before) and only feeds the metrics.
      const circuit = new CircuitBreaker({ failureThreshold: several ? config.CIRCUIT_FAILURE_THRESHOLD : Infinity, openMs: config.CIRCUIT_OPEN_MS });
      metrics.circuitState.set({ type, provider: name }, 0);
      circuit.onTransition((transition) => {
        metrics.circuitState.set({ type, provider: name }, CIRCUIT_STATE_VALUE[transition.state]);
        const detail = { provider: name, state: transition.state, remote: transition.remote, remainingMs: transition.remainingMs };
        if (transition.state === 'open') logger.warn(detail, 'provider circuit open: its traffic goes to the next provider');
        else logger.info(detail, `provider circuit ${transition.state}`);
      });
      return [name, circuit] as const;
    }),
  );
  const provider = createFailoverProvider(
    type,
    providers.map(({ name, provider: one }) => ({ name, provider: one, circuit: circuits.get(name) as CircuitBreaker })),
    {
      credentialsPauseMinMs: config.CREDENTIALS_PAUSE_MIN_MS,
      credentialsPauseMaxMs: config.CREDENTIALS_PAUSE_MAX_MS,
      onRequest: (name, outcome) => metrics.providerRequests.inc({ type, provider: name, outcome }),
      onCredentialsPause: (name, ms) => logger.error({ provider: name, pauseMs: ms }, 'a provider refused our credentials; its traffic goes to the next provider meanwhile (check its settings)'),
    },
  );
  return { provider, bus: several ? new CircuitBus(deps.connection, type, circuits, logger) : undefined };
}

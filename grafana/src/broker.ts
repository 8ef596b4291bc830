/**
 * Broker: RabbitMQ as rabbitmq_prometheus reports it (aggregated /metrics, job `rabbitmq`): connections,
 * channels, message rates, dead-lettering, unroutable messages, memory and disk against their alarm limits.
 * Metric reference: https://www.rabbitmq.com/docs/prometheus
 */
import { RATE, finish, relayDashboard, row, singleStat, timeSeries } from './panels';

export const uid = 'relay-broker';

const RMQ = 'job="rabbitmq"';

export function build(): Record<string, unknown> {
  const rate = (metric: string) => `sum(rate(${metric}{${RMQ}}[${RATE}]))`;
  return finish(
    relayDashboard(uid, 'relay-stack / Broker', 'RabbitMQ: connections, channels, publish/deliver/ack rates, memory, disk, unroutable.')
      .withRow(row('Now'))
      .withPanel(singleStat('Connections', [{ expr: `sum(rabbitmq_connections{${RMQ}})` }]))
      .withPanel(singleStat('Channels', [{ expr: `sum(rabbitmq_channels{${RMQ}})` }]))
      .withPanel(singleStat('Consumers', [{ expr: `sum(rabbitmq_consumers{${RMQ}})` }]))
      .withPanel(
        singleStat(
          'Resource alarms',
          [{ expr: `max(rabbitmq_alarms_memory_used_watermark{${RMQ}}) + max(rabbitmq_alarms_free_disk_space_watermark{${RMQ}})` }],
          { thresholds: [[1, 'red']], description: 'Memory or disk alarm active: publishers are blocked and the API answers 503.' },
        ),
      )
      .withRow(row('Message rates'))
      .withPanel(
        timeSeries(
          'Published, routed, delivered, acknowledged / s',
          [
            { expr: rate('rabbitmq_global_messages_received_total'), legend: 'published' },
            { expr: rate('rabbitmq_global_messages_confirmed_total'), legend: 'confirmed' },
            { expr: rate('rabbitmq_global_messages_routed_total'), legend: 'routed' },
            { expr: rate('rabbitmq_global_messages_delivered_total'), legend: 'delivered' },
            { expr: rate('rabbitmq_global_messages_acknowledged_total'), legend: 'acknowledged' },
            { expr: rate('rabbitmq_global_messages_redelivered_total'), legend: 'redelivered' },
          ],
          { unit: 'reqps', min: 0, width: 24, description: 'Retries count twice: republished to relay.retry and dead-lettered back from the delay tier.' },
        ),
      )
      .withPanel(
        timeSeries(
          'Dead-lettered by the broker / s',
          [
            { expr: rate('rabbitmq_global_messages_dead_lettered_expired_total'), legend: 'expired (retry tiers back to relay.messages)' },
            { expr: rate('rabbitmq_global_messages_dead_lettered_rejected_total'), legend: 'rejected' },
            { expr: rate('rabbitmq_global_messages_dead_lettered_delivery_limit_total'), legend: 'delivery limit (poison backstop)' },
            { expr: rate('rabbitmq_global_messages_dead_lettered_maxlen_total'), legend: 'max length' },
          ],
          { unit: 'reqps', min: 0 },
        ),
      )
      .withPanel(
        timeSeries(
          'Unroutable',
          [
            { expr: rate('rabbitmq_global_messages_unroutable_dropped_total'), legend: 'dropped / s' },
            { expr: rate('rabbitmq_global_messages_unroutable_returned_total'), legend: 'returned / s' },
            { expr: 'sum(rabbitmq_detailed_queue_messages{vhost="relay", queue="relay.unroutable"})', legend: 'in relay.unroutable' },
          ],
          { min: 0, description: 'relay.messages has an alternate exchange: unknown routing keys land in relay.unroutable instead of being dropped.' },
        ),
      )
      .withRow(row('Connections and resources'))
      .withPanel(
        timeSeries(
          'Connections and channels',
          [
            { expr: `sum(rabbitmq_connections{${RMQ}})`, legend: 'connections' },
            { expr: `sum(rabbitmq_channels{${RMQ}})`, legend: 'channels' },
            { expr: rate('rabbitmq_connections_opened_total'), legend: 'connections opened / s' },
            { expr: rate('rabbitmq_connections_closed_total'), legend: 'connections closed / s' },
          ],
          { min: 0, description: 'Steady counts; churn (opened/closed per second) means clients reconnect in a loop.' },
        ),
      )
      .withPanel(
        timeSeries(
          'Memory',
          [
            { expr: `sum(rabbitmq_process_resident_memory_bytes{${RMQ}})`, legend: 'resident' },
            { expr: `sum(rabbitmq_resident_memory_limit_bytes{${RMQ}})`, legend: 'high watermark (alarm)' },
          ],
          { unit: 'bytes', min: 0 },
        ),
      )
      .withPanel(
        timeSeries(
          'Disk free',
          [
            { expr: `sum(rabbitmq_disk_space_available_bytes{${RMQ}})`, legend: 'available' },
            { expr: `sum(rabbitmq_disk_space_available_limit_bytes{${RMQ}})`, legend: 'disk_free_limit (alarm)' },
          ],
          { unit: 'bytes', min: 0 },
        ),
      )
      .withPanel(
        timeSeries(
          'File descriptors and Erlang processes',
          [
            { expr: `sum(rabbitmq_process_open_fds{${RMQ}})`, legend: 'open fds' },
            { expr: `sum(rabbitmq_erlang_processes_used{${RMQ}})`, legend: 'erlang processes' },
          ],
          { min: 0 },
        ),
      ),
  );
}

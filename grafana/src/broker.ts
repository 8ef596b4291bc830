/**
 * Broker: RabbitMQ as rabbitmq_prometheus reports it (aggregated /metrics, job `rabbitmq`): connections,
 * channels, message rates, dead-lettering, unroutable messages, memory and disk against their alarm limits.
 * A cluster (docs/scaling.md) is one target per node (label `instance`): the Nodes row and the resource panels show
 * each node, and quorum queue members come from the rabbitmq-detailed job's ra_metrics family.
 * Metric reference: https://www.rabbitmq.com/docs/prometheus
 */
import { RATE, finish, relayDashboard, row, singleStat, timeSeries } from './panels';

export const uid = 'relay-broker';

const RMQ = 'job="rabbitmq"';
const RAFT = 'job="rabbitmq-detailed", vhost="relay"';

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
      .withRow(row('Nodes'))
      .withPanel(singleStat('Nodes up', [{ expr: `sum(up{${RMQ}})` }], { description: 'Broker nodes Prometheus scrapes and reaches (prometheus.cluster.yml lists every node of the cluster).' }))
      .withPanel(
        singleStat('Nodes down', [{ expr: `count(up{${RMQ}} == 0) or vector(0)` }], {
          thresholds: [[1, 'orange']],
          description: 'One node of three down: quorum queues still work (RelayBrokerNodeDown). Half or more down: no majority, the API answers 503 (RelayBrokerMajorityDown).',
        }),
      )
      .withPanel(
        singleStat('Quorum queues short of members', [{ expr: `count(count by (queue) (rabbitmq_detailed_raft_term_total{${RAFT}}) < scalar(count(up{job="rabbitmq-detailed"}))) or vector(0)` }], {
          thresholds: [[1, 'orange']],
          description: 'Queues with fewer running members than there are broker nodes (RelayQuorumQueueMembersMissing).',
        }),
      )
      .withPanel(
        singleStat('Queue leaders per node', [{ expr: `count by (instance) (rabbitmq_detailed_queue_messages{job="rabbitmq-detailed", vhost="relay"})`, legend: '{{instance}}' }], {
          description: 'Per-queue metrics come from the node that leads the queue: leaders piled on one node make it do all the work (rabbitmq-queues rebalance quorum).',
        }),
      )
      .withPanel(timeSeries('Node up', [{ expr: `up{${RMQ}}`, legend: '{{instance}}' }], { min: 0, description: '1 = scraped, 0 = down or unreachable.' }))
      .withPanel(
        timeSeries('Running members per quorum queue', [{ expr: `count by (queue) (rabbitmq_detailed_raft_term_total{${RAFT}})`, legend: '{{queue}}' }], {
          min: 0,
          description: 'How many nodes run a member of each queue; a queue needs a majority of its members to accept and deliver.',
        }),
      )
      .withPanel(
        timeSeries('Published / s per node', [{ expr: `sum by (instance) (rate(rabbitmq_global_messages_received_total{${RMQ}}[${RATE}]))`, legend: '{{instance}}' }], {
          unit: 'reqps',
          min: 0,
          description: 'Where the publishers are connected (clients take the first reachable node of AMQP_URL).',
        }),
      )
      .withPanel(
        timeSeries('Raft commit latency per node', [{ expr: `max by (instance) (rabbitmq_detailed_raft_entry_commit_latency_seconds{${RAFT}})`, legend: '{{instance}}' }], {
          unit: 's',
          min: 0,
          description: 'Slowest quorum queue member of each node: time to commit a log entry (a publisher confirm waits for it on a majority).',
        }),
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
            { expr: `sum by (instance) (rabbitmq_connections{${RMQ}})`, legend: 'connections {{instance}}' },
            { expr: `sum by (instance) (rabbitmq_channels{${RMQ}})`, legend: 'channels {{instance}}' },
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
            { expr: `sum by (instance) (rabbitmq_process_resident_memory_bytes{${RMQ}})`, legend: 'resident {{instance}}' },
            { expr: `sum by (instance) (rabbitmq_resident_memory_limit_bytes{${RMQ}})`, legend: 'high watermark (alarm) {{instance}}' },
          ],
          { unit: 'bytes', min: 0 },
        ),
      )
      .withPanel(
        timeSeries(
          'Disk free',
          [
            { expr: `sum by (instance) (rabbitmq_disk_space_available_bytes{${RMQ}})`, legend: 'available {{instance}}' },
            { expr: `sum by (instance) (rabbitmq_disk_space_available_limit_bytes{${RMQ}})`, legend: 'disk_free_limit (alarm) {{instance}}' },
          ],
          { unit: 'bytes', min: 0 },
        ),
      )
      .withPanel(
        timeSeries(
          'File descriptors and Erlang processes',
          [
            { expr: `sum by (instance) (rabbitmq_process_open_fds{${RMQ}})`, legend: 'open fds {{instance}}' },
            { expr: `sum by (instance) (rabbitmq_erlang_processes_used{${RMQ}})`, legend: 'erlang processes {{instance}}' },
          ],
          { min: 0 },
        ),
      ),
  );
}

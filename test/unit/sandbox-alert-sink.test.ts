import request from 'supertest';
import { FaultInjector } from '../../services/sandbox/faults';
import { MessageStore } from '../../services/sandbox/message-store';
import { createSandboxApp } from '../../services/sandbox/sandbox-app';

// The sandbox as Alertmanager's webhook receiver (services/sandbox/alert-sink.ts). A payload from a real
// Alertmanager is checked live by test/observability/alerting.test.ts; this one has the documented v4 shape:
// https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
const sandbox = () =>
  createSandboxApp({ store: new MessageStore(), faults: new FaultInjector(), twilioAccountSid: 'AC1', twilioAuthToken: 't', webhookSecrets: [] });

const payload = {
  version: '4',
  groupKey: '{}:{alertname="RelayServiceDown", severity="critical"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'sandbox',
  groupLabels: { alertname: 'RelayServiceDown', severity: 'critical' },
  commonLabels: { alertname: 'RelayServiceDown', severity: 'critical', job: 'sms-worker' },
  commonAnnotations: { summary: 'sms-worker target 127.0.0.1:9101 is down' },
  externalURL: 'http://127.0.0.1:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'RelayServiceDown', severity: 'critical', job: 'sms-worker', instance: '127.0.0.1:9101' },
      annotations: { summary: 'sms-worker target 127.0.0.1:9101 is down' },
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph',
      fingerprint: '0123456789abcdef',
    },
  ],
};

describe("the sandbox's alert sink", () => {
  test('keeps every Alertmanager webhook payload, in arrival order, as sent, and lists them on GET /alerts', async () => {
    const app = sandbox();
    expect((await request(app).get('/alerts')).body).toEqual({ count: 0, notifications: [] });
    await request(app).post('/webhooks/alerts').send(payload).expect(200, { received: true });
    await request(app).post('/webhooks/alerts').send({ ...payload, status: 'resolved', alerts: [{ ...payload.alerts[0], status: 'resolved' }] }).expect(200);

    const listed = (await request(app).get('/alerts').expect(200)).body as { count: number; notifications: Array<typeof payload & { receivedAt: string }> };
    expect(listed.count).toBe(2);
    expect(listed.notifications.map((n) => n.status)).toEqual(['firing', 'resolved']);
    expect(listed.notifications[0]).toMatchObject(payload);
    expect(Date.parse(listed.notifications[0]!.receivedAt)).not.toBeNaN();
  });

  test('refuses what is not a v4 payload with alert names, and forgets everything on DELETE /alerts', async () => {
    const app = sandbox();
    await request(app).post('/webhooks/alerts').send({ ...payload, version: '3' }).expect(400);
    await request(app).post('/webhooks/alerts').send({ ...payload, alerts: [{ status: 'firing', labels: {} }] }).expect(400);
    await request(app).post('/webhooks/alerts').set('content-type', 'application/json').send('not json').expect(400);
    expect((await request(app).get('/alerts')).body.count).toBe(0);

    await request(app).post('/webhooks/alerts').send(payload).expect(200);
    await request(app).delete('/alerts').expect(204);
    expect((await request(app).get('/alerts')).body).toEqual({ count: 0, notifications: [] });
  });
});

/**
 * Unit tests of test/observability/queries.ts. When promtool is installed, every expression is also parsed by
 * Prometheus' own parser (wrapped as recording rules for `promtool check rules`), so a typo fails here rather than
 * in the live test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { alertExpressions, dashboardQueries, substituteVariables, variableValues } from './queries';

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('substituteVariables', () => {
  it('replaces Grafana global and dashboard variables in every syntax', () => {
    expect(substituteVariables('rate(x{job=~"$job"}[$__rate_interval])', { job: 'a|b' })).toBe('rate(x{job=~"a|b"}[1m])');
    expect(substituteVariables('x{t=~"${testid}", u="[[u]]"}[${__range}]', { testid: '.*', u: 'v' })).toBe('x{t=~".*", u="v"}[1h]');
  });

  it('refuses a variable it has no value for', () => {
    expect(() => substituteVariables('x{job="$nope"}')).toThrow(/\$nope/);
  });
});

describe('variableValues', () => {
  it('uses allValue for "All", the selection otherwise', () => {
    const dashboard = {
      templating: {
        list: [
          { name: 'job', includeAll: true, allValue: 'a|b', current: { value: ['$__all'] } },
          { name: 'testid', includeAll: true, current: { value: '$__all' } },
          { name: 'one', current: { value: 'x' } },
          { name: 'two', current: { value: ['x', 'y'] } },
        ],
      },
    };
    expect(variableValues(dashboard)).toEqual({ job: 'a|b', testid: '.*', one: 'x', two: '(x|y)' });
  });
});

describe('dashboardQueries', () => {
  const queries = dashboardQueries();

  it('returns the queries of every committed dashboard, with no Grafana variable left', () => {
    const dashboards = new Set(queries.map((query) => query.dashboard));
    expect([...dashboards].sort()).toEqual([
      'relay-stack / Broker',
      'relay-stack / Load test',
      'relay-stack / Node.js runtime',
      'relay-stack / Overview',
      'relay-stack / Workers',
    ]);
    for (const query of queries) {
      expect(query.panel).not.toBe('');
      expect(query.expr).not.toMatch(/\$|\[\[/);
    }
  });

  it('substitutes rate windows and the job and testid variables', () => {
    const accepted = queries.find((query) => query.dashboard === 'relay-stack / Overview' && query.panel === 'Accepted / s');
    expect(accepted?.expr).toBe('sum(rate(messages_published_total{job="app", outcome="confirmed"}[1m]))');
    expect(queries.some((query) => query.expr.includes('job=~"sms-worker|email-worker|notif-worker"'))).toBe(true);
    expect(queries.some((query) => query.expr.includes('testid=~".*"'))).toBe(true);
  });
});

describe('alertExpressions', () => {
  it('returns every alert of prometheus/rules with its expression', () => {
    const alerts = alertExpressions();
    expect(alerts.map((alert) => alert.alert).sort()).toEqual([
      'RelayApiUnavailable',
      'RelayBrokerDisconnected',
      'RelayBrokerMajorityDown',
      'RelayBrokerNodeDown',
      'RelayBrokerResourceAlarm',
      'RelayDeadLettersIncreasing',
      'RelayEndToEndLatencyHigh',
      'RelayProviderCircuitOpen',
      'RelayProviderCredentialsRejected',
      'RelayPublishFailures',
      'RelayQueueBacklogGrowing',
      'RelayQueueNoConsumers',
      'RelayQuorumQueueMembersMissing',
      'RelayServiceDown',
      'RelayStatusDatabaseDown',
      'RelayUnroutableMessages',
    ]);
    expect(alerts.find((alert) => alert.alert === 'RelayServiceDown')?.expr).toMatch(/^up\{.*\} == 0$/);
  });
});

(promtool ? describe : describe.skip)('with promtool', () => {
  it('every dashboard query and alert expression parses as PromQL', () => {
    const exprs = [...dashboardQueries().map((query) => query.expr), ...alertExpressions().map((alert) => alert.expr)];
    const dir = mkdtempSync(join(tmpdir(), 'relay-promql-'));
    try {
      const file = join(dir, 'queries.yml');
      const rules = exprs.map((expr, index) => ({ record: `relay_check:query_${index}`, expr }));
      writeFileSync(file, stringify({ groups: [{ name: 'queries', rules }] }));
      const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(result.stdout + result.stderr).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

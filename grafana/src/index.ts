/**
 * Every dashboard of the stack, generated into grafana/dashboards/<name>.json (committed; Grafana provisions them
 * from there). Regenerate with `UPDATE_DASHBOARDS=1 npx jest test/grafana` after editing a builder.
 */
import * as broker from './broker';
import * as loadtest from './loadtest';
import * as overview from './overview';
import * as runtime from './runtime';
import * as workers from './workers';

export interface DashboardSource {
  /** File name without `.json` in grafana/dashboards/. */
  name: string;
  uid: string;
  build: () => Record<string, unknown>;
}

export const dashboards: DashboardSource[] = [
  { name: 'overview', uid: overview.uid, build: overview.build },
  { name: 'workers', uid: workers.uid, build: workers.build },
  { name: 'broker', uid: broker.uid, build: broker.build },
  { name: 'nodejs-runtime', uid: runtime.uid, build: runtime.build },
  { name: 'loadtest', uid: loadtest.uid, build: loadtest.build },
];

/** The exact text written to grafana/dashboards/<name>.json. */
export function render(dashboard: Record<string, unknown>): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

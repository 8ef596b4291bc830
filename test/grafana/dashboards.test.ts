/**
 * The dashboards in grafana/dashboards/*.json are generated from grafana/src/*.ts: this test rebuilds each one in
 * memory and fails when the committed JSON differs. `UPDATE_DASHBOARDS=1 npx jest test/grafana` rewrites the files.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboards, render } from '../../grafana/src';

const dir = join(__dirname, '..', '..', 'grafana', 'dashboards');
const update = process.env.UPDATE_DASHBOARDS === '1';

interface Panel {
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ datasource?: { type?: string; uid?: string }; expr?: string; refId?: string }>;
  panels?: Panel[];
}

function allPanels(panels: Panel[] = []): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels)]);
}

describe('generated Grafana dashboards', () => {
  if (update) {
    it('writes every dashboard to grafana/dashboards', () => {
      for (const source of dashboards) writeFileSync(join(dir, `${source.name}.json`), render(source.build()));
    });
  }

  it.each(dashboards.map((source) => [source.name, source] as const))(
    'the committed %s.json equals what grafana/src builds',
    (name, source) => {
      const committed = readFileSync(join(dir, `${name}.json`), 'utf8');
      expect(committed).toBe(render(source.build()));
    },
  );

  it('commits no dashboard that grafana/src does not build', () => {
    const files = readdirSync(dir).filter((file) => file.endsWith('.json')).sort();
    expect(files).toEqual(dashboards.map((source) => `${source.name}.json`).sort());
  });

  it('gives every dashboard a unique, stable uid', () => {
    const uids = dashboards.map((source) => source.build().uid);
    expect(uids).toEqual(dashboards.map((source) => source.uid));
    expect(new Set(uids).size).toBe(uids.length);
  });

  it.each(dashboards.map((source) => [source.name, source] as const))(
    '%s: every panel and query uses the provisioned Prometheus datasource (uid prometheus)',
    (_name, source) => {
      const panels = allPanels(source.build().panels as Panel[]).filter((panel) => panel.type !== 'row');
      expect(panels.length).toBeGreaterThan(0);
      for (const panel of panels) {
        expect({ title: panel.title, datasource: panel.datasource }).toEqual({
          title: panel.title,
          datasource: { type: 'prometheus', uid: 'prometheus' },
        });
        expect(panel.targets?.length).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
          expect(target.expr).toMatch(/\S/);
        }
        const refIds = (panel.targets ?? []).map((target) => target.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    },
  );

  it.each(dashboards.map((source) => [source.name, source] as const))(
    '%s: has unique panel ids and no ${DS_...} datasource placeholder',
    (_name, source) => {
      const text = render(source.build());
      expect(text).not.toContain('${DS_');
      const ids = allPanels(source.build().panels as Panel[]).map((panel) => (panel as { id?: number }).id);
      expect(ids.every((id) => typeof id === 'number')).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );
});

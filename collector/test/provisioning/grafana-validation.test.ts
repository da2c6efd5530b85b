/**
 * The committed provisioning files pass Grafana's own start-up validation
 * (dashboards/src/grafana-validation.ts, each rule taken from Grafana's Go source), and the check
 * fails where Grafana fails: the 15 s rule group interval that made Grafana exit at start.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PROVISIONING_FILES, validateProvisioningFiles } from '../../../dashboards/src/grafana-validation';
import { ROOT } from './provisioned-files';

function committedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const rel of [
    PROVISIONING_FILES.rules,
    PROVISIONING_FILES.contactPoints,
    PROVISIONING_FILES.policies,
    PROVISIONING_FILES.datasources,
  ]) {
    files.set(rel, readFileSync(join(ROOT, rel), 'utf8'));
  }
  for (const f of readdirSync(join(ROOT, PROVISIONING_FILES.dashboardDir))) {
    files.set(`${PROVISIONING_FILES.dashboardDir}${f}`, readFileSync(join(ROOT, PROVISIONING_FILES.dashboardDir, f), 'utf8'));
  }
  return files;
}

/** The committed files with one file's parsed content changed. */
function withChange(rel: string, change: (doc: any) => void): Map<string, string> {
  const files = committedFiles();
  const text = files.get(rel)!;
  const doc = rel.endsWith('.json') ? JSON.parse(text) : parse(text);
  change(doc);
  files.set(rel, rel.endsWith('.json') ? JSON.stringify(doc) : stringify(doc));
  return files;
}

const firstDashboard = () => [...committedFiles().keys()].find((k) => k.endsWith('.json'))!;

describe("Grafana's provisioning validation on the generated files", () => {
  test('every committed provisioning file passes: rules, contact points, policies, data sources, five dashboards', () => {
    const files = committedFiles();
    expect([...files.keys()].filter((k) => k.endsWith('.json'))).toHaveLength(5);
    expect(validateProvisioningFiles(files)).toEqual([]);
  });

  test('the 15 s rule group interval fails with the message Grafana exits with', () => {
    const errors = validateProvisioningFiles(withChange(PROVISIONING_FILES.rules, (d) => (d.groups[0].interval = '15s')));
    expect(errors).toEqual(['rule group "streamgauge": interval (15s) should be non-zero and divided exactly by scheduler interval: 10']);
  });

  test('multiples of 10 s pass, 0 s and 5 s fail', () => {
    for (const ok of ['10s', '20s', '1m']) {
      expect(validateProvisioningFiles(withChange(PROVISIONING_FILES.rules, (d) => (d.groups[0].interval = ok)))).toEqual([]);
    }
    for (const bad of ['0s', '5s', '1m5s']) {
      expect(validateProvisioningFiles(withChange(PROVISIONING_FILES.rules, (d) => (d.groups[0].interval = bad)))).toHaveLength(1);
    }
  });

  test('a condition that is not one of the refIds fails', () => {
    const errors = validateProvisioningFiles(withChange(PROVISIONING_FILES.rules, (d) => (d.groups[0].rules[0].condition = 'D')));
    expect(errors.join('\n')).toContain('Condition D does not exist, must be one of [A B C]');
  });

  test('a data query with from <= to fails; expressions are exempt', () => {
    const errors = validateProvisioningFiles(
      withChange(PROVISIONING_FILES.rules, (d) => (d.groups[0].rules[0].data[0].relativeTimeRange = { from: 0, to: 0 })),
    );
    expect(errors.join('\n')).toContain('invalid relative time range [From: 0, To: 0]');
  });

  test('an expression outside __expr__, an unknown reducer or threshold type, and a dangling expression input fail', () => {
    const errors = validateProvisioningFiles(
      withChange(PROVISIONING_FILES.rules, (d) => {
        d.groups[0].rules[0].data[1].model.reducer = 'avg';
        d.groups[0].rules[1].data[2].model.conditions[0].evaluator.type = 'above';
        d.groups[0].rules[2].data[1].model.expression = 'Z';
        d.groups[0].rules[3].data[2].datasourceUid = 'prometheus';
        d.groups[0].rules[3].data[2].relativeTimeRange = { from: 600, to: 0 };
      }),
    );
    expect(errors).toHaveLength(4);
    expect(errors.join('\n')).toMatch(/reducer "avg"/);
    expect(errors.join('\n')).toMatch(/threshold evaluator type "above"/);
    expect(errors.join('\n')).toMatch(/refers to Z/);
    expect(errors.join('\n')).toMatch(/expression model must use datasourceUid __expr__/);
  });

  test("a negative or unparsable 'for', an invalid rule uid and a reserved label fail", () => {
    const errors = validateProvisioningFiles(
      withChange(PROVISIONING_FILES.rules, (d) => {
        d.groups[0].rules[0].for = '-1m';
        d.groups[0].rules[1].uid = 'has space';
        d.groups[0].rules[2].labels.__alert_rule_uid__ = 'x';
      }),
    );
    expect(errors).toHaveLength(3);
  });

  test('a policy routing to a missing contact point and a receiver without uid fail', () => {
    const policies = validateProvisioningFiles(
      withChange(PROVISIONING_FILES.policies, (d) => (d.policies[0].routes[0].receiver = 'nobody')),
    );
    expect(policies.join('\n')).toContain('undefined receiver "nobody"');
    const cps = validateProvisioningFiles(withChange(PROVISIONING_FILES.contactPoints, (d) => delete d.contactPoints[0].receivers[0].uid));
    expect(cps.join('\n')).toContain('receiver without uid');
  });

  test('two default data sources fail', () => {
    const errors = validateProvisioningFiles(
      withChange(PROVISIONING_FILES.datasources, (d) => d.datasources.forEach((x: any) => (x.isDefault = true))),
    );
    expect(errors.join('\n')).toContain('more than one default data source');
  });

  test('a dashboard schemaVersion Grafana 12 cannot load and a panel type it does not have fail', () => {
    const rel = firstDashboard();
    expect(validateProvisioningFiles(withChange(rel, (d) => (d.schemaVersion = 99))).join('\n')).toContain('schemaVersion 99');
    expect(validateProvisioningFiles(withChange(rel, (d) => (d.panels[0].type = 'graph'))).join('\n')).toContain(
      'not a panel built into Grafana 12',
    );
  });
});

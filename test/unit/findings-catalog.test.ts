/**
 * The finding catalog (lambdas/core/findings.ts): every rule maps to the OWASP Top 10 for LLM
 * Applications 2025 and to MITRE ATLAS, or says why no ATLAS entry applies; docs/findings.md
 * names every rule and what it maps to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINDING_RULES, type FindingRule } from '../../lambdas/core/findings';

const RULES = Object.entries(FINDING_RULES as Record<string, FindingRule>);
const DOCS = ['findings.md', 'agents.md', 'lineage.md', 'gpu-sweep.md', 'organization.md', 'discovery.md'].map((f) => readFileSync(join(__dirname, '..', '..', 'docs', f), 'utf8')).join('\n');

describe('the finding catalog', () => {
  it.each(RULES)('%s maps to an OWASP LLM entry, and to MITRE ATLAS or says why none applies', (_id, rule) => {
    const owasp = rule.frameworks.filter((f) => f.framework === 'OWASP-LLM-2025');
    const atlas = rule.frameworks.filter((f) => f.framework === 'MITRE-ATLAS');
    expect(owasp.length).toBeGreaterThan(0);
    for (const f of owasp) expect(f.id).toMatch(/^LLM(0[1-9]|10):2025$/);
    for (const f of atlas) expect(f.id).toMatch(/^AML\.TA?\d{4}(\.\d{3})?$/);
    // One or the other, never both: a reason beside a mapping would contradict it.
    expect([atlas.length > 0, Boolean(rule.atlasNone?.trim())].filter(Boolean)).toHaveLength(1);
  });

  it('keeps the reasons to the rules that map to no ATLAS entry', () => {
    expect(RULES.filter(([, r]) => r.atlasNone).map(([id]) => id).sort()).toEqual(['endpoint-config-without-kms', 'gpu-idle-remediation', 'gpu-underutilized']);
  });

  it.each(RULES.map(([id]) => id))('%s is documented', (id) => {
    expect(DOCS).toContain(`\`${id}\``);
  });
});

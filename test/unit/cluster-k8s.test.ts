/**
 * The Service and Indexed Job `fourtuple k8s job` prints: validated offline against the
 * Kubernetes schema (kubernetes-models), read back from the YAML text, and checked field by field.
 */
import { Job } from 'kubernetes-models/batch/v1';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONTROL_PORT, type JobOptions, k8sJob, k8sJobYaml } from '../../src/cluster/k8s.js';
import { InvalidOptionError } from '../../src/errors.js';

const OPTS: JobOptions = {
  agents: 8,
  targets: ['198.18.0.2:6379', '198.18.0.3:6379'],
  connections: 7203,
  rate: 1000,
  holdMs: 30_000,
  image: 'registry.example/fourtuple:0.1.0',
  namespace: 'load',
  name: 'ft-run',
};

describe('k8s job manifests', () => {
  it('the Service and the Job validate against the Kubernetes schema', () => {
    const [svc, job] = k8sJob(OPTS);
    expect(() => new Service(svc as never).validate()).not.toThrow();
    expect(() => new Job(job as never).validate()).not.toThrow();
    // the validator is live: a field of the wrong type is caught
    const broken = { ...job, spec: { ...job.spec, completions: 'eight' } };
    expect(() => new Job(broken as never).validate()).toThrow();
  });

  it('the YAML text reads back as the same two objects', () => {
    const docs = parseAllDocuments(k8sJobYaml(OPTS)).map((d) => d.toJSON());
    expect(docs).toEqual(JSON.parse(JSON.stringify(k8sJob(OPTS))));
  });

  it('is an Indexed Job of one pod per agent, all at once, never retried, behind a headless Service', () => {
    const [svc, job] = k8sJob(OPTS);
    expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(svc.spec?.selector).toEqual(job.spec?.template.metadata?.labels);
    const spec = job.spec!;
    expect(spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 8,
      parallelism: 8,
      backoffLimitPerIndex: 0,
      ttlSecondsAfterFinished: 3600,
    });
    expect(spec.activeDeadlineSeconds).toBeGreaterThan(30);
    const pod = spec.template.spec!;
    expect(pod.subdomain).toBe(svc.metadata?.name);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext?.sysctls).toEqual([
      { name: 'net.ipv4.ip_local_port_range', value: '1024 65535' },
    ]);
    expect(pod.topologySpreadConstraints?.[0]).toMatchObject({
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
    });
    const rules = spec.podFailurePolicy?.rules ?? [];
    expect(rules[0]).toMatchObject({ action: 'FailJob', onExitCodes: { values: [2] } });
    expect(rules[1]).toMatchObject({ action: 'Ignore' });
  });

  it("the agent's command, its coordinator address and the downward API", () => {
    const c = k8sJob(OPTS)[1].spec!.template.spec!.containers[0]!;
    expect(c.args).toEqual([
      'agent',
      '--agents',
      '8',
      '--target',
      '198.18.0.2:6379,198.18.0.3:6379',
      '--connections',
      '7203',
      '--rate',
      '1000',
      '--hold',
      '30s',
      '--allow-remote',
    ]);
    const env = Object.fromEntries(
      (c.env ?? []).map((e: { name: string; value?: string; valueFrom?: unknown }) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );
    expect(env.FOURTUPLE_COORDINATOR).toBe(`ft-run-0.ft-run:${CONTROL_PORT}`);
    expect(env.FOURTUPLE_AGENTS).toBe('8');
    expect(env.FOURTUPLE_POD_NAME).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.FOURTUPLE_NODE_NAME).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    // memory sized from the largest shard (901 connections)
    expect(c.resources?.limits?.memory).toBe(c.resources?.requests?.memory);
  });

  it('refuses a name that is not a DNS label, or an image with spaces, by field', () => {
    expect(() => k8sJob({ ...OPTS, name: 'Ft_Run' })).toThrow(InvalidOptionError);
    expect(() => k8sJob({ ...OPTS, name: 'Ft_Run' })).toThrow(/^name must be a DNS label/);
    expect(() => k8sJob({ ...OPTS, image: 'a b' })).toThrow(/^image must be/);
    expect(() => k8sJob({ ...OPTS, agents: 0 })).toThrow(/^agents must be/);
  });
});

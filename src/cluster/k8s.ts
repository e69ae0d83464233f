/**
 * The Kubernetes objects that run a cluster plan: a headless Service and an Indexed Job, one pod
 * per agent (one of the seed's n machines). Nothing here calls an API: the user pipes the text to
 * `kubectl apply -f -`. Types come from `kubernetes-types` (compile time only).
 *
 * Why each field:
 * - `completionMode: Indexed`, `completions = parallelism = agents`: every index runs at once and
 *   Kubernetes sets JOB_COMPLETION_INDEX in each pod; with `subdomain` = the headless Service,
 *   pod `NAME-0` is reachable as `NAME-0.NAME`, the coordinator's stable address.
 * - `publishNotReadyAddresses`: agents register before any pod is Ready.
 * - `restartPolicy: Never`, `backoffLimitPerIndex: 0`: a lost agent is reported as lost, never
 *   silently restarted into a barrier that has moved on.
 * - `podFailurePolicy`: exit code 2 (bad input) fails the whole Job at once; a disruption
 *   (eviction, preemption) is ignored rather than counted as the agent's failure.
 * - the namespaced, safe sysctl `net.ipv4.ip_local_port_range` widens each pod's ephemeral range.
 * - topology spread (max skew 1 per node): pods on one node share its SNAT address towards an
 *   outside server, so agents are spread one per node while there are nodes enough.
 */

import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { stringify } from 'yaml';
import { InvalidOptionError } from '../errors.js';
import { AGENTS_RANGE, type ClusterPlan, evenShare } from './shard.js';

/** The coordinator's control port in every pod (agent 0 listens on it). */
export const CONTROL_PORT = 7600;

export interface JobOptions extends ClusterPlan {
  agents: number;
  image: string;
  /** default `default` */
  namespace?: string;
  /** the Job's and the Service's name (default `fourtuple`) */
  name?: string;
  /** each pod's ephemeral port range (default 1024-65535) */
  portRange?: { low: number; high: number };
}

/** DNS-1035 label: what a Service name (and so the Job name) must be. */
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Memory one held connection costs an agent (kernel + process), with head room, in bytes. */
const BYTES_PER_CONNECTION = 16 * 1024;
const BASE_MEMORY = 256 * 1024 * 1024;

function check(o: JobOptions): void {
  const name = o.name ?? 'fourtuple';
  // the pod hostname NAME-INDEX must stay a DNS label too
  if (!DNS_LABEL.test(name) || name.length > 63 - 1 - String(o.agents - 1).length) {
    throw new InvalidOptionError(
      'name',
      'a DNS label (a-z, 0-9, -), short enough for NAME-INDEX',
      name,
    );
  }
  if (o.namespace !== undefined && !DNS_LABEL.test(o.namespace)) {
    throw new InvalidOptionError('namespace', 'a DNS label (a-z, 0-9, -)', o.namespace);
  }
  if (!Number.isInteger(o.agents) || o.agents < AGENTS_RANGE.min || o.agents > AGENTS_RANGE.max) {
    throw new InvalidOptionError(
      'agents',
      `an integer from ${AGENTS_RANGE.min} to ${AGENTS_RANGE.max}`,
      String(o.agents),
    );
  }
  if (o.image.trim() === '' || /\s/.test(o.image)) {
    throw new InvalidOptionError('image', 'a container image reference', JSON.stringify(o.image));
  }
}

/** The agent's command line inside the pod (its index comes from JOB_COMPLETION_INDEX). */
export function agentArgs(o: JobOptions): string[] {
  return [
    'agent',
    '--agents',
    String(o.agents),
    '--target',
    o.targets.join(','),
    '--connections',
    String(o.connections),
    '--rate',
    String(o.rate),
    '--hold',
    `${Math.ceil(o.holdMs / 1000)}s`,
    '--allow-remote',
  ];
}

/** The headless Service and the Indexed Job for `o`. */
export function k8sJob(o: JobOptions): [Service, Job] {
  check(o);
  const name = o.name ?? 'fourtuple';
  const namespace = o.namespace ?? 'default';
  const labels = { 'app.kubernetes.io/name': 'fourtuple', 'fourtuple/job': name };
  const perAgent = evenShare(o.connections, o.agents, 0);
  const memory = `${Math.ceil((BASE_MEMORY + perAgent * BYTES_PER_CONNECTION) / 2 ** 20)}Mi`;
  const range = o.portRange ?? { low: 1024, high: 65535 };
  const fieldEnv = (envName: string, fieldPath: string) => ({
    name: envName,
    valueFrom: { fieldRef: { fieldPath } },
  });
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: labels,
      ports: [{ name: 'control', port: CONTROL_PORT, targetPort: CONTROL_PORT }],
    },
  };
  const job: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace, labels },
    spec: {
      completionMode: 'Indexed',
      completions: o.agents,
      parallelism: o.agents,
      backoffLimitPerIndex: 0,
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: { containerName: 'agent', operator: 'In', values: [2] },
          },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      // ramp and barrier time on top of the hold
      activeDeadlineSeconds: Math.ceil(o.holdMs / 1000) + 900,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          subdomain: name,
          restartPolicy: 'Never',
          securityContext: {
            sysctls: [
              { name: 'net.ipv4.ip_local_port_range', value: `${range.low} ${range.high}` },
            ],
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: labels },
            },
          ],
          containers: [
            {
              name: 'agent',
              image: o.image,
              args: agentArgs(o),
              ports: [{ name: 'control', containerPort: CONTROL_PORT }],
              env: [
                { name: 'FOURTUPLE_AGENTS', value: String(o.agents) },
                { name: 'FOURTUPLE_COORDINATOR', value: `${name}-0.${name}:${CONTROL_PORT}` },
                fieldEnv('FOURTUPLE_POD_NAME', 'metadata.name'),
                fieldEnv('FOURTUPLE_NODE_NAME', 'spec.nodeName'),
                fieldEnv('FOURTUPLE_POD_IP', 'status.podIP'),
              ],
              resources: {
                requests: { cpu: '1', memory },
                limits: { memory },
              },
            },
          ],
        },
      },
    },
  };
  return [service, job];
}

/** The manifests as one multi-document YAML text for `kubectl apply -f -`. */
export function k8sJobYaml(o: JobOptions): string {
  return k8sJob(o)
    .map((doc) => `---\n${stringify(doc, { aliasDuplicateObjects: false })}`)
    .join('');
}

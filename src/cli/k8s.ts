/** `fourtuple k8s job`: the Service and Indexed Job of a cluster run, for `kubectl apply -f -`. */
import { k8sJobYaml } from '../cluster/k8s.js';
import { AGENTS_RANGE } from '../cluster/shard.js';
import { UsageError } from '../errors.js';
import { CLUSTER_OPTIONS } from './_cluster.js';
import { defineCommand } from './_command.js';

export const k8sCommand = defineCommand({
  name: 'k8s',
  summary: 'print the Kubernetes Service and Indexed Job that run a cluster of agents',
  description: `Prints (calls no API) a headless Service and an Indexed Job: one pod per agent, all started at
once, never retried (a lost agent is reported lost), a usage error failing the whole Job, each
pod's ephemeral port range widened by the namespaced sysctl net.ipv4.ip_local_port_range, and
the pods spread one per node while there are nodes enough (pods on one node share its SNAT
address towards an outside server). Pipe it to \`kubectl apply -f -\`, then collect the agents'
last lines and \`fourtuple merge\` them.`,
  epilog: `Example:
  fourtuple k8s job --agents 8 --target 198.18.0.5:6379 --connections 200000 --rate 5000 \\
    --image registry.example/fourtuple:0.1.0 | kubectl apply -f -`,
  args: { usage: 'job', description: 'what to print (job: the Service and the Indexed Job)' },
  options: {
    ...CLUSTER_OPTIONS,
    agents: {
      type: 'int',
      min: AGENTS_RANGE.min,
      max: AGENTS_RANGE.max,
      required: true,
      description: 'agents (pods), one machine each',
    },
    connections: {
      type: 'int',
      min: 1,
      max: 1_000_000_000,
      required: true,
      description: 'connections held at once over all agents',
    },
    rate: {
      type: 'int',
      min: 1,
      max: 1_000_000_000,
      required: true,
      description: 'connects per second over all agents',
    },
    image: {
      type: 'string',
      required: true,
      placeholder: 'IMAGE',
      description: "the container image with fourtuple (see the README's Dockerfile)",
    },
    namespace: { type: 'string', default: 'default', description: 'the Kubernetes namespace' },
    name: {
      type: 'string',
      default: 'fourtuple',
      description: "the Job's and the Service's name",
    },
  },
  json: false,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1 || positionals[0] !== 'job') {
      throw new UsageError('expects `job` (fourtuple k8s job --agents N ...)');
    }
    io.stdout.write(
      k8sJobYaml({
        agents: values.agents,
        targets: values.target,
        connections: values.connections,
        rate: values.rate,
        holdMs: values.hold,
        image: values.image,
        namespace: values.namespace,
        name: values.name,
      }),
    );
    return 0;
  },
});

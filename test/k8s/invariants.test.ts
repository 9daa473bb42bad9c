// Done-when 2: what must hold between the rendered manifests, the app's configuration and the app itself.
// Every number is read from `kubectl kustomize` output, never restated here, so a change to one knob that
// breaks another fails this file.
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { ConfigMap, Container, Namespace, Probe, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Ingress, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { type AppConfig, parseConfig } from '../../src/config/app-config.js';
import { startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { describe as name, find, type K8sObject, OVERLAYS, readManifests, render, SECRET_TEMPLATE } from './kustomize.js';

useCleanup();

const APP = 'vj-presence';
/** What the app needs after DRAIN_MS before it exits: PresenceService.settled (2 s), closing HTTP and Redis. */
const SHUTDOWN_AFTER_DRAIN_S = 5;
/** A JWT secret of the length production demands; only for parsing the deployed config here. */
const TEST_JWT_SECRET = 'test-only-'.padEnd(48, 'x');

const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  for (const overlay of OVERLAYS) rendered.set(overlay, await render(overlay));
}, 60_000);

function objectsOf(overlay: string): K8sObject[] {
  const objects = rendered.get(overlay);
  if (objects === undefined) throw new Error(`${overlay} was not rendered`);
  return objects;
}

/** The parts of one overlay these checks read. */
function parts(overlay: string) {
  const objects = objectsOf(overlay);
  const deployment = find<Deployment>(objects, 'Deployment', APP);
  const podSpec = deployment.spec!.template.spec!;
  const container = podSpec.containers.find((c) => c.name === 'app')!;
  const configMap = find<ConfigMap>(objects, 'ConfigMap', `${APP}-config`);
  return { objects, deployment, podSpec, container, configMap, env: configMap.data ?? {} };
}

/** The configuration the app builds from the ConfigMap (and a Secret's worth of values), as a pod would. */
function appConfig(env: Record<string, string>): { config: AppConfig; warnings: string[] } {
  const result = parseConfig(
    { ...env, JWT_SECRET: TEST_JWT_SECRET, REDIS_URL: env.REDIS_URL ?? 'rediss://redis.example.com:6380' },
    { hostname: 'pod', pid: 1 },
  );
  if (!result.ok) throw new Error(`the app refuses the deployed configuration:\n${result.errors.join('\n')}`);
  return result;
}

/** The seconds a preStop hook waits: `exec: sleep N` or the `sleep` action. */
function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep !== undefined) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  if (command.length === 2 && command[0] === 'sleep' && /^\d+$/.test(command[1]!)) return Number(command[1]);
  throw new Error(`preStop is not a plain sleep: ${JSON.stringify(preStop)}`);
}

/** The container port a probe or Service targets, by name or number. */
function containerPort(container: Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(probe: Probe | undefined, kind: string): { path: string; port: string | number } {
  if (probe?.httpGet?.path === undefined) throw new Error(`the ${kind} probe is not an HTTP GET with a path`);
  return { path: probe.httpGet.path, port: probe.httpGet.port };
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

describe.each(OVERLAYS)('%s', (overlay) => {
  test('the app accepts the deployed configuration, with no timing warning', () => {
    const { env } = parts(overlay);
    const { warnings } = appConfig(env);
    // The development overlay runs on the app's public dev secret on purpose; nothing else may warn.
    expect(warnings.filter((w) => !w.startsWith('INSECURE: JWT_SECRET is not set'))).toEqual([]);
    expect(warnings.filter((w) => /LB_IDLE_TIMEOUT_MS|PRESENCE_TTL_MS/.test(w))).toEqual([]);
  });

  test('the Ingress idle timeouts equal LB_IDLE_TIMEOUT_MS, which exceeds the heartbeat interval and ping interval + timeout', () => {
    const { objects, env } = parts(overlay);
    const { config } = appConfig(env);
    const annotations = find<Ingress>(objects, 'Ingress', APP).metadata!.annotations ?? {};
    const read = annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'];
    const send = annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'];
    // ingress-nginx reads both as whole seconds (its validator: an integer).
    expect(read).toMatch(/^\d+$/);
    expect(send).toMatch(/^\d+$/);
    expect(Number(read) * 1000).toBe(config.lbIdleTimeoutMs);
    expect(Number(send) * 1000).toBe(config.lbIdleTimeoutMs);

    expect(config.lbIdleTimeoutMs).toBe(Number(env.LB_IDLE_TIMEOUT_MS));
    expect(config.heartbeatIntervalMs).toBeLessThan(config.lbIdleTimeoutMs);
    expect(config.pingIntervalMs + config.pingTimeoutMs).toBeLessThan(config.lbIdleTimeoutMs);
    expect(config.presenceTtlMs).toBeGreaterThanOrEqual(2 * config.heartbeatIntervalMs);

    // A handshake refused by a draining pod (503) is retried on another; ingress-nginx's own check of the value.
    const nextUpstream = annotations['nginx.ingress.kubernetes.io/proxy-next-upstream'] ?? '';
    expect(nextUpstream).toMatch(/^((error|timeout|invalid_header|http_500|http_502|http_503|http_504|http_403|http_404|http_429|non_idempotent|off)\s?)+$/);
    const retried = nextUpstream.split(/\s+/);
    expect(retried).toEqual(expect.arrayContaining(['error', 'timeout', 'http_503']));
    // No 4xx: an Origin refusal (403) or a rate limit (429) would be tried again on every pod.
    expect(retried.filter((condition) => /^http_4/.test(condition))).toEqual([]);
    expect(retried).not.toContain('non_idempotent');
  });

  test('terminationGracePeriodSeconds > preStop + DRAIN_MS (+ the shutdown after it); rollouts drain one pod at a time', () => {
    const { deployment, podSpec, container, env } = parts(overlay);
    const { config } = appConfig(env);
    const preStop = preStopSeconds(container);
    const drainS = config.drainMs / 1000;
    expect(preStop).toBeGreaterThan(0);
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + drainS);
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + drainS + SHUTDOWN_AFTER_DRAIN_S);

    const strategy = deployment.spec!.strategy!;
    expect(strategy.type).toBe('RollingUpdate');
    expect(strategy.rollingUpdate!.maxUnavailable).toBe(0);
    expect(Number(strategy.rollingUpdate!.maxSurge)).toBeGreaterThanOrEqual(1);
    // The next old pod is stopped only once the previous one has finished draining.
    expect(deployment.spec!.minReadySeconds).toBeGreaterThanOrEqual(preStop + drainS);
    // Each client reconnects right after its own socket closes (not at the end of the drain), so what a
    // streamer needs is a grace longer than one reconnect, not longer than DRAIN_MS.
    expect(config.reconnectGraceMs).toBeGreaterThanOrEqual(5_000);
  });

  test('probes, Service, Ingress, NetworkPolicy and scrape annotations all point at the port the app listens on', () => {
    const { objects, deployment, container, env } = parts(overlay);
    const port = Number(env.PORT);
    expect(container.ports?.map((p) => p.containerPort)).toEqual([port]);

    const probes = {
      startup: httpProbe(container.startupProbe, 'startup'),
      readiness: httpProbe(container.readinessProbe, 'readiness'),
      liveness: httpProbe(container.livenessProbe, 'liveness'),
    };
    expect(probes.readiness.path).toBe('/readyz');
    expect(probes.liveness.path).toBe('/healthz');
    for (const probe of Object.values(probes)) expect(containerPort(container, probe.port)).toBe(port);

    const service = find<Service>(objects, 'Service', APP);
    const servicePort = service.spec!.ports![0]!;
    expect(containerPort(container, servicePort.targetPort)).toBe(port);
    for (const rule of find<Ingress>(objects, 'Ingress', APP).spec!.rules!) {
      for (const path of rule.http!.paths) {
        expect(path.backend.service!.name).toBe(service.metadata!.name);
        expect([servicePort.name, servicePort.port]).toContain(path.backend.service!.port!.name ?? path.backend.service!.port!.number);
      }
    }
    const policy = find<NetworkPolicy>(objects, 'NetworkPolicy', APP);
    expect([...new Set(policy.spec!.ingress!.flatMap((rule) => rule.ports!.map((p) => containerPort(container, p.port))))]).toEqual([port]);

    const annotations = deployment.spec!.template.metadata!.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(port);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  test('the probe, scrape and Ingress paths are routes the app serves, started with the deployed configuration', async () => {
    const { objects, deployment, container, env } = parts(overlay);
    // As the pod starts it, minus Redis (embedded mode answers the same routes) and on a free port.
    const app = await startApp({ env: { ...env, PORT: '0', JWT_SECRET: TEST_JWT_SECRET, REDIS_URL: undefined } });
    const annotations = deployment.spec!.template.metadata!.annotations ?? {};
    const paths = [
      container.startupProbe!.httpGet!.path!,
      container.readinessProbe!.httpGet!.path!,
      container.livenessProbe!.httpGet!.path!,
      annotations['prometheus.io/path']!,
    ];
    for (const path of paths) expect([path, (await fetch(`${app.url}${path}`)).status]).toEqual([path, 200]);
    // The Ingress exposes path prefixes; a request under each must reach a route, not a 404.
    const prefixes = find<Ingress>(objects, 'Ingress', APP).spec!.rules!.flatMap((r) => r.http!.paths.map((p) => p.path!));
    expect(prefixes.sort()).toEqual(['/socket.io/', '/v1/']);
    expect((await fetch(`${app.url}/v1/streamers?status=online&limit=1`)).status).toBe(200);
    expect((await fetch(`${app.url}/socket.io/?EIO=4&transport=polling`)).status).toBe(200);
    expect(await app.stop('SIGTERM', 15_000)).toBe(0);
  }, 30_000);

  test('every pod runs as non-root, read-only, with no capabilities, within requests and limits', () => {
    const { objects } = parts(overlay);
    const deployments = objects.filter((o): o is K8sObject & Deployment => o.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      const spec = deployment.spec!.template.spec!;
      const at = name(deployment);
      expect([at, spec.securityContext?.runAsNonRoot]).toEqual([at, true]);
      expect([at, spec.securityContext?.runAsUser]).toEqual([at, expect.any(Number)]);
      expect(spec.securityContext!.runAsUser).toBeGreaterThan(0);
      expect([at, spec.securityContext?.seccompProfile?.type]).toEqual([at, 'RuntimeDefault']);
      expect([at, spec.hostNetwork ?? false, spec.hostPID ?? false]).toEqual([at, false, false]);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${at} container ${c.name}`;
        expect([where, c.securityContext?.allowPrivilegeEscalation]).toEqual([where, false]);
        expect([where, c.securityContext?.readOnlyRootFilesystem]).toEqual([where, true]);
        expect([where, c.securityContext?.capabilities?.drop]).toEqual([where, ['ALL']]);
        expect([where, c.securityContext?.capabilities?.add ?? []]).toEqual([where, []]);
        expect([where, c.securityContext?.privileged ?? false]).toEqual([where, false]);
        expect([where, c.securityContext?.runAsUser ?? spec.securityContext!.runAsUser]).not.toEqual([where, 0]);
        for (const resource of ['cpu', 'memory']) {
          expect([where, resource, c.resources?.requests?.[resource]]).toEqual([where, resource, expect.any(String)]);
          expect([where, resource, c.resources?.limits?.[resource]]).toEqual([where, resource, expect.any(String)]);
        }
      }
    }
  });

  test("Node's heap cap leaves room under the app container's memory limit", () => {
    const { container, env } = parts(overlay);
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS ?? '')?.[1]);
    const limit = /^(\d+)Mi$/.exec(container.resources!.limits!.memory as string);
    expect(limit).not.toBeNull();
    expect(heapMiB).toBeGreaterThan(0);
    expect(heapMiB).toBeLessThanOrEqual(Number(limit![1]) * 0.8);
  });

  test('pods spread across nodes; Service, PodDisruptionBudget, NetworkPolicy and spread select exactly the app pods', () => {
    const { objects, deployment, podSpec } = parts(overlay);
    const podLabels = deployment.spec!.template.metadata!.labels;
    expect(matches(deployment.spec!.selector.matchLabels, podLabels)).toBe(true);
    const byNode = podSpec.topologySpreadConstraints?.find((t) => t.topologyKey === 'kubernetes.io/hostname');
    expect(byNode).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
    expect(matches(byNode!.labelSelector?.matchLabels, podLabels)).toBe(true);
    expect(matches(find<Service>(objects, 'Service', APP).spec!.selector, podLabels)).toBe(true);
    const pdb = find<PodDisruptionBudget>(objects, 'PodDisruptionBudget', APP);
    expect(matches(pdb.spec!.selector!.matchLabels, podLabels)).toBe(true);
    expect(pdb.spec!.maxUnavailable).toBe(1);
    expect(matches(find<NetworkPolicy>(objects, 'NetworkPolicy', APP).spec!.podSelector.matchLabels, podLabels)).toBe(true);
  });

  test('the NetworkPolicy lets in only the app port, only from the ingress controller and Prometheus, and lets out only DNS and Redis', () => {
    const policy = find<NetworkPolicy>(parts(overlay).objects, 'NetworkPolicy', APP);
    expect(policy.spec!.policyTypes).toEqual(['Ingress', 'Egress']);
    // Every rule names who may come in: a pod that reached the port directly could forge X-Forwarded-For.
    const sources = policy.spec!.ingress!.map((rule) => (rule.from ?? []).map((peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']));
    expect(sources).toEqual([['ingress-nginx'], ['monitoring']]);
    const egressPorts = policy.spec!.egress!.flatMap((rule) => (rule.ports ?? [{ port: 'ANY' }]).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`));
    expect(new Set(egressPorts)).toEqual(new Set(overlay.endsWith('prod') ? ['UDP/53', 'TCP/53', 'TCP/6379', 'TCP/6380', 'TCP/26379'] : ['UDP/53', 'TCP/53', 'TCP/6379']));
  });

  test('its Namespace enforces the restricted Pod Security Standard', () => {
    const { objects, deployment } = parts(overlay);
    const namespace = find<Namespace>(objects, 'Namespace', deployment.metadata!.namespace!);
    expect(namespace.metadata!.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) expect([name(object), object.metadata.namespace]).toEqual([name(object), namespace.metadata!.name]);
  });

  test('no Secret holds a real value', () => {
    const secrets = parts(overlay).objects.filter((o) => o.kind === 'Secret') as Array<K8sObject & Secret>;
    expect(secretProblems(secrets)).toEqual([]);
  });
});

test('the Secret template holds no real value and names what the pods read', () => {
  const template = readManifests(SECRET_TEMPLATE) as Array<K8sObject & Secret>;
  expect(secretProblems(template)).toEqual([]);
  expect(Object.keys(template[0]!.stringData ?? {}).sort()).toEqual(['JWT_SECRET', 'REDIS_URL']);
  // The prod Deployment reads the Secret of that name and namespace; prod renders none (the operator makes it).
  const prod = parts('overlays/prod');
  const secretRefs = prod.container.envFrom!.flatMap((source) => (source.secretRef ? [source.secretRef.name] : []));
  expect(secretRefs).toEqual([template[0]!.metadata!.name]);
  expect(template[0]!.metadata!.namespace).toBe(prod.deployment.metadata!.namespace);
  expect(prod.objects.filter((o) => o.kind === 'Secret')).toEqual([]);
});

test('dev runs 2 replicas; prod runs 3 or more, owned by the autoscaler', () => {
  expect(parts('overlays/dev').deployment.spec!.replicas).toBe(2);
  expect(parts('overlays/dev').objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  const prod = parts('overlays/prod');
  // No replica count in the Deployment: an apply would otherwise reset what the autoscaler chose.
  expect(prod.deployment.spec!.replicas).toBeUndefined();
  const hpa = find<HorizontalPodAutoscaler>(prod.objects, 'HorizontalPodAutoscaler', APP);
  expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: APP });
  expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(3);
  expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!);
  // Scale-down removes one pod at a time, so only one pod's clients move at once.
  expect(hpa.spec!.behavior!.scaleDown!.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: expect.any(Number) }]);
});

test('dev runs one in-cluster Redis that the app is pointed at', () => {
  const dev = parts('overlays/dev');
  const redis = find<Deployment>(dev.objects, 'Deployment', 'redis');
  expect(redis.spec!.replicas).toBe(1);
  const secret = dev.objects.find((o) => o.kind === 'Secret') as (K8sObject & Secret) | undefined;
  const url = Buffer.from(secret!.data!.REDIS_URL!, 'base64').toString('utf8');
  const service = find<Service>(dev.objects, 'Service', 'redis');
  expect(url).toBe(`redis://${service.metadata!.name}:${service.spec!.ports![0]!.port}`);
  expect(dev.container.envFrom!.some((source) => source.secretRef?.name === secret!.metadata!.name)).toBe(true);
});

/**
 * Problems with Secrets that should carry no secret: every value is empty, or a URL with no password in
 * it (the in-cluster dev Redis address). Keys named like credentials must be empty.
 */
function secretProblems(secrets: ReadonlyArray<K8sObject & Secret>): string[] {
  const problems: string[] = [];
  for (const secret of secrets) {
    const values: Record<string, string> = { ...(secret.stringData ?? {}) };
    for (const [key, encoded] of Object.entries(secret.data ?? {})) values[key] = Buffer.from(encoded, 'base64').toString('utf8');
    for (const [key, value] of Object.entries(values)) {
      if (value === '') continue;
      if (/SECRET|PASSWORD|TOKEN|KEY$|CERT/i.test(key)) {
        problems.push(`${name(secret)} ${key}: a credential must be left empty, got ${value.length} characters`);
        continue;
      }
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        // not a URL
      }
      if (url === undefined) problems.push(`${name(secret)} ${key}: not empty and not a URL`);
      else if (url.password !== '' || url.username !== '') problems.push(`${name(secret)} ${key}: a URL with credentials`);
    }
  }
  return problems;
}

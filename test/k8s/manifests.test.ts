// Done-when 1: every overlay renders with `kubectl kustomize`, and every rendered object validates, offline,
// against the Kubernetes API's schemas with unknown fields refused (see schema.ts for how).
import { describe as name, find, type K8sObject, OVERLAYS, readManifests, render, SECRET_TEMPLATE } from './kustomize.js';
import { formatProblems, validateObjects } from './schema.js';

const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  for (const overlay of OVERLAYS) rendered.set(overlay, await render(overlay));
}, 60_000);

function objectsOf(overlay: string): K8sObject[] {
  const objects = rendered.get(overlay);
  if (objects === undefined) throw new Error(`${overlay} was not rendered`);
  return objects;
}

const clone = <T>(value: T): T => structuredClone(value);

describe.each(OVERLAYS)('%s', (overlay) => {
  test('renders the kinds an operator applies', () => {
    const kinds = new Set(objectsOf(overlay).map((o) => o.kind));
    for (const kind of ['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'Ingress', 'PodDisruptionBudget', 'NetworkPolicy']) {
      expect(kinds).toContain(kind);
    }
  });

  test('every rendered object validates against the Kubernetes schemas, unknown fields refused', () => {
    const problems = validateObjects(objectsOf(overlay));
    expect(formatProblems(problems)).toBe('');
  });
});

test('the prod Secret template validates too', () => {
  const template = readManifests(SECRET_TEMPLATE);
  expect(template.map((o) => o.kind)).toEqual(['Secret']);
  expect(formatProblems(validateObjects(template))).toBe('');
});

describe('the validation is strict', () => {
  test('a misspelled key deep in a rendered Deployment fails, naming the key and where it is', () => {
    const deployment = clone(find(objectsOf('overlays/prod'), 'Deployment', 'vj-presence')) as K8sObject & {
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;

    const problems = validateObjects([deployment]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ object: name(deployment), path: 'spec.template.spec.containers[0].readinesProbe' });
    expect(problems[0]!.message).toMatch(/may only specify known properties.*readinesProbe.*Container/);
  });

  test('a misspelled top-level spec field, a wrong type and a missing required field each fail', () => {
    const objects = objectsOf('overlays/dev');
    const pdb = clone(find(objects, 'PodDisruptionBudget', 'vj-presence')) as K8sObject & { spec: Record<string, unknown> };
    pdb.spec.maxUnavailabe = pdb.spec.maxUnavailable;
    delete pdb.spec.maxUnavailable;
    const service = clone(find(objects, 'Service', 'vj-presence')) as K8sObject & { spec: { ports: Array<Record<string, unknown>> } };
    service.spec.ports[0]!.port = '80'; // a string where the API wants an integer
    const ingress = clone(find(objects, 'Ingress', 'vj-presence')) as K8sObject & {
      spec: { rules: Array<{ http: { paths: Array<Record<string, unknown>> } }> };
    };
    delete ingress.spec.rules[0]!.http.paths[0]!.pathType; // required in networking.k8s.io/v1

    const problems = validateObjects([pdb, service, ingress]);
    expect(problems.map((p) => `${p.object} ${p.path}`)).toEqual([
      `${name(pdb)} spec.maxUnavailabe`,
      `${name(service)} spec.ports[0].port`,
      `${name(ingress)} spec.rules[0].http.paths[0]`,
    ]);
    expect(problems[2]!.message).toMatch(/pathType/);
  });

  test('a retired API version, a kind that does not exist and a custom resource have no schema, so they fail', () => {
    const hpa = clone(find(objectsOf('overlays/prod'), 'HorizontalPodAutoscaler', 'vj-presence'));
    hpa.apiVersion = 'autoscaling/v2beta2'; // removed in Kubernetes 1.26
    const typo: K8sObject = { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } };
    const serviceMonitor: K8sObject = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'x' }, spec: {} };

    const problems = validateObjects([hpa, typo, serviceMonitor]);
    const byObject = new Map(problems.map((p) => [p.object, p.message]));
    expect(problems).toHaveLength(3);
    expect(byObject.get(name(hpa))).toMatch(/no Kubernetes schema for apiVersion autoscaling\/v2beta2/);
    expect(byObject.get(name(typo))).toMatch(/no exported member.*Deploymnet/);
    expect(byObject.get(name(serviceMonitor))).toMatch(/no Kubernetes schema for apiVersion monitoring\.coreos\.com\/v1/);
  });
});

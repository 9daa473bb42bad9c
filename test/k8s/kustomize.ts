import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const K8S_DIR = join(REPO_ROOT, 'k8s');
/** Every overlay an operator may apply, relative to k8s/. */
export const OVERLAYS = ['overlays/dev', 'overlays/prod'] as const;
/** The Secret template the prod overlay deliberately does not render (it would overwrite the real one). */
export const SECRET_TEMPLATE = join(K8S_DIR, 'overlays/prod/secret.template.yaml');

/** Any Kubernetes object, as rendered. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

// kubectl lives in /usr/local/bin or /usr/bin on most images, which a bare PATH may lack.
const EXTRA_DIRS = ['/usr/local/bin', '/usr/bin', '/snap/bin'];
// Inline JSON 6902 `patches`, `replicas` and `labels` need kustomize v4+; kubectl 1.27+ embeds v5.
const MIN_KUSTOMIZE_MAJOR = 5;

const INSTALL_HINT =
  'Install kubectl 1.27 or newer (it embeds kustomize v5): see https://kubernetes.io/docs/tasks/tools/ ' +
  '(a single static binary, e.g. /usr/local/bin/kubectl), or the Google Cloud CLI "kubectl" Debian package. ' +
  "Debian bookworm's own kubernetes-client (kubectl 1.20, kustomize v2) is too old.";

let kubectlChecked: Promise<string> | undefined;

/**
 * The path of a kubectl whose embedded kustomize is v5 or newer. Rejects, saying how to install one,
 * when there is none: the manifest tests fail rather than skip.
 */
export function kubectl(): Promise<string> {
  kubectlChecked ??= findKubectl();
  return kubectlChecked;
}

async function findKubectl(): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  const path = dirs.map((dir) => join(dir, 'kubectl')).find(isExecutable);
  if (path === undefined) throw new Error(`kubectl not found on PATH (needed for 'kubectl kustomize'). ${INSTALL_HINT}`);
  const { stdout } = await execFileAsync(path, ['version', '--client', '-o', 'json'], { timeout: 30_000 });
  const version = JSON.parse(stdout) as { kustomizeVersion?: string };
  const major = Number(/^v?(\d+)\./.exec(version.kustomizeVersion ?? '')?.[1] ?? 0);
  if (major < MIN_KUSTOMIZE_MAJOR) {
    throw new Error(`${path} embeds kustomize ${version.kustomizeVersion ?? '(unknown)'}; v${MIN_KUSTOMIZE_MAJOR}+ is needed. ${INSTALL_HINT}`);
  }
  return path;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `kubectl kustomize k8s/<dir>`, parsed. Offline: the kustomizations have no remote bases. */
export async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await execFileAsync(await kubectl(), ['kustomize', join(K8S_DIR, dir)], {
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseManifests(stdout, `kubectl kustomize k8s/${dir}`);
}

/** Reads and parses a manifest file (one or more YAML documents). */
export function readManifests(path: string): K8sObject[] {
  return parseManifests(readFileSync(path, 'utf8'), path);
}

/** Parses multi-document YAML; a syntax error or a duplicate key is an error, not a guess. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text, { uniqueKeys: true })) {
    if (document.errors.length > 0) {
      throw new Error(`${source}: invalid YAML: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue; // an empty document
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`);
    objects.push(value as K8sObject);
  }
  return objects;
}

/** `Kind/name` (with the namespace when there is one), for messages. */
export function describe(object: K8sObject): string {
  const ns = object.metadata?.namespace;
  return `${object.kind}/${ns === undefined ? '' : `${ns}/`}${object.metadata?.name}`;
}

/**
 * The one object of `kind` named `name`, or `name` plus the hash suffix kustomize gives generated
 * ConfigMaps and Secrets; throws listing what there is otherwise.
 */
export function find<T = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T {
  const named = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-[a-z0-9]{10})?$`);
  const matches = objects.filter((o) => o.kind === kind && named.test(o.metadata.name));
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} named ${name}, found ${matches.length} among: ${objects.map(describe).join(', ')}`);
  }
  return matches[0] as T;
}

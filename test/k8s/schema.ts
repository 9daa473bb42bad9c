// Offline, strict validation of Kubernetes objects against the API's own types.
//
// The schemas are those of the `kubernetes-types` package (Kubernetes 1.30): TypeScript interfaces
// generated from the Kubernetes OpenAPI document, one per kind and per nested type, with required fields
// required and every field typed. Each object is written out as a TypeScript object literal typed as its
// kind, and the TypeScript compiler checks it. An object literal may only have the properties its type
// declares (TypeScript's excess-property check, applied at every depth), so an unknown or misspelled key
// anywhere is refused, like the API server's strict field validation; so are a missing required field, a
// wrong type, an apiVersion/kind pair that does not exist, and any kind with no schema here (CRDs).
// Nothing is fetched: the types are in node_modules.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe as name, type K8sObject, REPO_ROOT } from './kustomize.js';

/** One reason an object does not validate. */
export interface SchemaProblem {
  /** `Kind/name` */
  object: string;
  /** Dotted path of the offending field, e.g. `spec.template.spec.containers[0].readinesProbe`. */
  path: string;
  message: string;
}

const TYPES_DIR = join(REPO_ROOT, 'node_modules', 'kubernetes-types');
// A file that is never written: the compiler host serves it from memory. It sits inside the repository
// so that `kubernetes-types` resolves from node_modules as for any other file here.
const VIRTUAL_FILE = join(REPO_ROOT, 'test', 'k8s', '__objects_under_validation__.ts');
// API groups without the .k8s.io suffix; anything else must end in .k8s.io (built-in) or has no schema.
const LEGACY_GROUPS = new Set(['apps', 'autoscaling', 'batch', 'policy']);

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  lib: ['lib.es2022.d.ts'],
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};

/** Validates every object; returns every problem found (none: all valid). */
export function validateObjects(objects: readonly K8sObject[]): SchemaProblem[] {
  if (!existsSync(join(TYPES_DIR, 'package.json'))) {
    throw new Error(`kubernetes-types is not installed in ${TYPES_DIR}: run 'npm ci'`);
  }
  const problems: SchemaProblem[] = [];
  const modules = new Map<string, string>();
  // Each object becomes `export const oN: <module>.<Kind> = <its JSON>;`; spans map offsets back to objects.
  let body = '';
  const spans: Array<{ start: number; end: number; object: string }> = [];

  for (const [index, object] of objects.entries()) {
    const label = name(object);
    const own = checkIdentity(object);
    if (own.length > 0) {
      problems.push(...own.map((message) => ({ object: label, path: '', message })));
      continue;
    }
    const modulePath = typesModule(object.apiVersion);
    if (modulePath === null) {
      problems.push({ object: label, path: 'apiVersion', message: `no Kubernetes schema for apiVersion ${object.apiVersion} (not a built-in API group)` });
      continue;
    }
    let alias = modules.get(modulePath);
    if (alias === undefined) {
      alias = `m${modules.size}`;
      modules.set(modulePath, alias);
    }
    body += `export const o${index}: ${alias}.${object.kind} = `;
    const literal = JSON.stringify(object, null, 2);
    spans.push({ start: body.length, end: body.length + literal.length, object: label });
    body += `${literal};\n`;
  }

  const imports = [...modules].map(([modulePath, alias]) => `import type * as ${alias} from 'kubernetes-types/${modulePath}';`);
  const header = `${imports.join('\n')}\n`;
  const source = header + body;
  const sourceFile = ts.createSourceFile(VIRTUAL_FILE, source, ts.ScriptTarget.ES2022, true);
  const program = ts.createProgram([VIRTUAL_FILE], COMPILER_OPTIONS, compilerHost(source));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const start = diagnostic.start ?? 0;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    const span = spans.find((s) => start >= header.length + s.start && start < header.length + s.end);
    if (diagnostic.file?.fileName !== VIRTUAL_FILE || span === undefined) {
      // A kind that does not exist in its apiVersion ("has no exported member"), or a setup problem.
      const at = diagnostic.file?.fileName === VIRTUAL_FILE ? lineAt(sourceFile, start) : diagnostic.file?.fileName ?? '';
      problems.push({ object: objectOfLine(objects, at) ?? '(setup)', path: '', message: `${message} [${at}]` });
      continue;
    }
    problems.push({ object: span.object, path: pathAt(sourceFile, start), message });
  }
  return problems;
}

/** What every object needs and the types leave optional. */
function checkIdentity(object: K8sObject): string[] {
  const problems: string[] = [];
  if (typeof object.apiVersion !== 'string' || object.apiVersion === '') problems.push('apiVersion is missing');
  if (typeof object.kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(object.kind)) problems.push('kind is missing or not a kind name');
  if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') problems.push('metadata.name is missing');
  return problems;
}

/** `apps/v1` → `apps/v1`, `v1` → `core/v1`, `networking.k8s.io/v1` → `networking/v1`; null when not built in. */
function typesModule(apiVersion: string): string | null {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return existsSync(join(TYPES_DIR, 'core', `${parts[0]}.d.ts`)) ? `core/${parts[0]}` : null;
  const [group, version] = parts as [string, string];
  let directory: string;
  if (LEGACY_GROUPS.has(group)) directory = group;
  else if (group.endsWith('.k8s.io')) directory = group.split('.')[0]!;
  else return null;
  return existsSync(join(TYPES_DIR, directory, `${version}.d.ts`)) ? `${directory}/${version}` : null;
}

function compilerHost(source: string): ts.CompilerHost {
  const host = ts.createCompilerHost(COMPILER_OPTIONS, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === VIRTUAL_FILE
      ? ts.createSourceFile(fileName, source, languageVersion, true)
      : getSourceFile.call(host, fileName, languageVersion, ...rest);
  host.fileExists = (fileName) => fileName === VIRTUAL_FILE || fileExists.call(host, fileName);
  host.readFile = (fileName) => (fileName === VIRTUAL_FILE ? source : readFile.call(host, fileName));
  return host;
}

/** The JSON path of the property or element at `position` in the generated literal. */
function pathAt(sourceFile: ts.SourceFile, position: number): string {
  let node: ts.Node = sourceFile;
  for (;;) {
    const child = node.getChildren(sourceFile).find((c) => c.getStart(sourceFile) <= position && position < c.getEnd());
    if (child === undefined) break;
    node = child;
  }
  const segments: string[] = [];
  for (let current = node; current.parent !== undefined; current = current.parent) {
    const parent = current.parent;
    if (ts.isVariableDeclaration(parent)) break;
    if (ts.isPropertyAssignment(parent)) segments.push(`.${propertyName(parent)}`);
    else if (ts.isArrayLiteralExpression(parent)) segments.push(`[${parent.elements.indexOf(current as ts.Expression)}]`);
  }
  return segments.reverse().join('').replace(/^\./, '');
}

function propertyName(property: ts.PropertyAssignment): string {
  return ts.isStringLiteral(property.name) || ts.isIdentifier(property.name) ? property.name.text : property.name.getText();
}

function lineAt(sourceFile: ts.SourceFile, position: number): string {
  const { line } = sourceFile.getLineAndCharacterOfPosition(position);
  return sourceFile.text.split('\n')[line]?.trim() ?? '';
}

/** For a declaration line such as `export const o3: m1.Foo = {`: the object it declares. */
function objectOfLine(objects: readonly K8sObject[], line: string): string | undefined {
  const index = /export const o(\d+):/.exec(line)?.[1];
  return index === undefined ? undefined : name(objects[Number(index)]!);
}

/** One line per problem, for test failure messages. */
export function formatProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => `${p.object}${p.path === '' ? '' : ` ${p.path}`}: ${p.message}`).join('\n');
}

// Applies YAML directories to a cluster (create or replace), for scripts/run.sh
// where no kubectl exists:
//
//   node dist/e2e/lib/apply-cli.js [--kubeconfig FILE] [--namespace NS]... [--recursive DIR]... [DIR...]
//
// --namespace creates a namespace first; DIR takes the YAML files directly in
// it, --recursive DIR also those in subdirectories. Everything is applied in
// one pass ordered namespaces, CRDs (waited for), the rest. A missing or empty
// directory is reported and skipped. Exit status 1 when any object failed.
import type { KubernetesObject } from '@kubernetes/client-node';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyAll, connect, errorMessage, nameOf, readYamlDir } from './kube.js';

interface Sources {
  readonly kubeconfig: string | undefined;
  readonly namespaces: string[];
  readonly dirs: { readonly dir: string; readonly recursive: boolean }[];
}

function parse(argv: string[]): Sources {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', multiple: true, default: [] },
      recursive: { type: 'string', multiple: true, default: [] },
    },
  });
  return {
    kubeconfig: values.kubeconfig,
    namespaces: values.namespace ?? [],
    dirs: [...positionals.map((dir) => ({ dir, recursive: false })), ...(values.recursive ?? []).map((dir) => ({ dir, recursive: true }))],
  };
}

async function collect(sources: Sources): Promise<KubernetesObject[]> {
  const objects: KubernetesObject[] = sources.namespaces.map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  }));
  for (const { dir, recursive } of sources.dirs) {
    const docs = await readYamlDir(dir, { recursive });
    const shown = path.relative(process.cwd(), path.resolve(dir)) || '.';
    console.log(docs.length === 0 ? `${shown}/: nothing to apply` : `${shown}/: ${docs.length} object(s)`);
    objects.push(...docs);
  }
  return objects;
}

async function main(): Promise<number> {
  const sources = parse(process.argv.slice(2));
  const kube = connect(sources.kubeconfig);
  const { applied, failed } = await applyAll(kube, await collect(sources));
  for (const a of applied) console.log(`  ${a.action.padEnd(8)} ${nameOf(a.object)}`);
  for (const f of failed) console.error(`  FAILED   ${f.error}`);
  console.log(`applied ${applied.length} object(s)${failed.length ? `, ${failed.length} failed` : ''}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`apply: ${errorMessage(err)}`);
    process.exit(1);
  },
);

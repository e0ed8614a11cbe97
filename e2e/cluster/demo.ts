// What `make cluster` leaves for a user to try: a runnable image in the
// cluster's registry under a repository that plays the mirror of a registry
// that does not exist, and the manifests that make a Pod pull it by the
// source name:
//
//   node dist/e2e/cluster/demo.js STATE_DIR      writes STATE_DIR/demo/*.yaml
//
//   mirrors.yaml   an ImageDigestMirrorSet (registry.example.com/demo ->
//                  <registry>/demo, NeverContactSource) and a RegistryAccess
//                  (the registry speaks plain HTTP)
//   pod.yaml       a Pod running registry.example.com/demo/app@sha256:...
//
// registry.example.com is never resolved or contacted: with
// NeverContactSource containerd's hosts.toml names only the mirror.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk, removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { writeRunnableImage } from './harness.js';

const SOURCE = 'registry.example.com/demo';

async function main(dir: string): Promise<void> {
  const env = Object.fromEntries(
    (await readFile(join(dir, 'cluster.env'), 'utf8'))
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
  );
  const registry = env.REGISTRY as string;
  const work = await tempDir('demo-image');
  try {
    const img = await writeRunnableImage(join(work, 'oci'), 'v1', join(env.BIN as string, 'pause'), `demo ${new Date().toISOString()}`);
    await writeFile(join(work, 'registries.conf'), '');
    await runOk('skopeo', [
      '--registries-conf',
      join(work, 'registries.conf'),
      'copy',
      '--quiet',
      '--insecure-policy',
      '--dest-tls-verify=false',
      `oci:${join(work, 'oci')}:v1`,
      `docker://${registry}/demo/app:v1`,
    ]);
    await mkdir(join(dir, 'demo'), { recursive: true });
    await writeFile(
      join(dir, 'demo', 'mirrors.yaml'),
      `# Pulls of ${SOURCE}/* go to the cluster's registry, and never to ${SOURCE.split('/')[0]}.
apiVersion: imagemirror.io/v1alpha1
kind: ImageDigestMirrorSet
metadata:
  name: demo
spec:
  imageDigestMirrors:
  - source: ${SOURCE}
    mirrors:
    - ${registry}/demo
    mirrorSourcePolicy: NeverContactSource
---
# The cluster's registry serves plain HTTP on loopback.
apiVersion: imagemirror.io/v1alpha1
kind: RegistryAccess
metadata:
  name: demo
spec:
  hosts:
  - host: ${registry}
    plainHTTP: true
`,
    );
    await writeFile(
      join(dir, 'demo', 'pod.yaml'),
      `# The image by digest under its source name; the node pulls it through the mirror.
apiVersion: v1
kind: Pod
metadata:
  name: demo
  namespace: default
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: ${SOURCE}/app@${img.manifestDigest}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
`,
    );
    console.log(join(dir, 'demo'));
  } finally {
    await removeDir(work);
  }
}

main(process.argv[2] ?? '.cluster').catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

// The deployment manifests under deploy/: complete kustomizations, least
// privilege RBAC with a stated reason per rule, and the hardening the
// controller Deployment and the agent DaemonSet promise in docs/api.md.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, arr, at, documents, isObject, obj, str, yamlFiles, type JsonObject } from './manifests.js';

function kustomized(dir: string): JsonObject[] {
  const k = documents(`${dir}/kustomization.yaml`)[0];
  return arr(k, 'resources').flatMap((r) => {
    const path = join(dir, String(r));
    return existsSync(join(ROOT, path, 'kustomization.yaml')) ? kustomized(path) : documents(path);
  });
}

function one(objects: JsonObject[], kind: string, name?: string): JsonObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || str(o, 'metadata', 'name') === name));
  expect(found, `${kind} ${name ?? ''}`).to.have.length(1);
  return found[0]!;
}

function rules(o: JsonObject): JsonObject[] {
  return arr(o, 'rules').map((r) => r as JsonObject);
}

/** Verbs granted on `group/resource` by a role. */
function verbs(role: JsonObject, group: string, resource: string): string[] {
  return rules(role)
    .filter((r) => arr(r, 'apiGroups').includes(group) && arr(r, 'resources').includes(resource))
    .flatMap((r) => arr(r, 'verbs').map(String))
    .sort();
}

const CONTROLLER = kustomized('deploy');
const AGENT = kustomized('deploy/agent');

describe('deploy/', () => {
  it('every YAML file parses and every kustomization resource exists', () => {
    for (const f of yamlFiles('deploy')) expect(documents(f).length, f).to.be.greaterThan(0);
    expect(CONTROLLER.filter((o) => o.kind === 'CustomResourceDefinition')).to.have.length(4);
    expect(CONTROLLER.some((o) => str(o, 'metadata', 'name').endsWith('hypershift.openshift.io'))).to.equal(false);
  });

  it('RBAC has no wildcards and a comment above every rule', () => {
    for (const file of ['deploy/rbac.yaml', 'deploy/agent/rbac.yaml']) {
      for (const o of documents(file).filter((d) => Array.isArray(d.rules))) {
        for (const r of rules(o)) {
          for (const field of ['apiGroups', 'resources', 'verbs']) expect(arr(r, field), `${file} ${field}`).to.not.include('*');
        }
      }
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line.startsWith('- apiGroups:')) expect(lines[i - 1], `${file}:${i + 1} needs a comment`).to.match(/^#/);
      });
    }
  });

  it('the controller reads its inputs, writes only status on them, and writes (and deletes) its outputs', () => {
    const role = one(CONTROLLER, 'ClusterRole', 'image-mirror-controller');
    for (const r of ['imagedigestmirrorsets', 'imagetagmirrorsets', 'registryaccesses']) {
      expect(verbs(role, 'imagemirror.io', r), r).to.deep.equal(['get', 'list', 'watch']);
      expect(verbs(role, 'imagemirror.io', `${r}/status`), `${r}/status`).to.deep.equal(['patch', 'update']);
    }
    expect(verbs(role, 'imagemirror.io', 'renderedmirrorconfigs')).to.include.members(['create', 'delete', 'patch', 'update']);
    expect(verbs(role, 'hypershift.openshift.io', 'hostedclusters')).to.deep.equal(['get', 'list', 'watch']);
    expect(verbs(role, 'hypershift.openshift.io', 'nodepools')).to.deep.equal(['get', 'list', 'patch', 'watch']);
    expect(verbs(role, '', 'configmaps')).to.deep.equal(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
    expect(verbs(role, '', 'secrets')).to.deep.equal(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
    expect(verbs(role, '', 'events')).to.deep.equal(['create', 'patch']);
    expect(verbs(role, 'events.k8s.io', 'events')).to.deep.equal(['create', 'patch']);
    expect(verbs(role, '', 'pods')).to.deep.equal([]);
    const lease = one(CONTROLLER, 'Role', 'image-mirror-leader-election');
    expect(str(lease, 'metadata', 'namespace')).to.equal('image-mirror-system');
    expect(verbs(lease, 'coordination.k8s.io', 'leases')).to.deep.equal(['create', 'get', 'update']);
  });

  it('the controller Deployment: 2 replicas, leader election, probes, metrics, hardened', () => {
    const d = one(CONTROLLER, 'Deployment');
    expect(at(d, 'spec', 'replicas')).to.equal(2);
    const pod = obj(d, 'spec', 'template', 'spec');
    const c = obj(arr(pod, 'containers')[0]);
    expect(arr(c, 'args')).to.deep.equal(['controller', '--leader-elect']);
    const ports = Object.fromEntries(arr(c, 'ports').map((p) => [str(p, 'name'), at(p, 'containerPort')]));
    expect(ports).to.deep.equal({ metrics: 8080, health: 8081 });
    expect(obj(c, 'livenessProbe', 'httpGet')).to.deep.equal({ path: '/healthz', port: 'health' });
    expect(obj(c, 'readinessProbe', 'httpGet')).to.deep.equal({ path: '/readyz', port: 'health' });
    expect(obj(c, 'resources', 'requests')).to.have.keys('cpu', 'memory');
    expect(obj(c, 'resources', 'limits')).to.have.keys('cpu', 'memory');
    expect(obj(pod, 'securityContext')).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(obj(c, 'securityContext')).to.deep.equal({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(str(pod, 'serviceAccountName')).to.equal(str(one(CONTROLLER, 'ServiceAccount'), 'metadata', 'name'));
    // The V8 heap bound leaves at least 150 MiB of the memory limit to the rest of the process (measured peak RSS with it:
    // bench/RESULTS.md section 8).
    const nodeOptions = arr(c, 'env').find((e) => str(e, 'name') === 'NODE_OPTIONS');
    const heapMiB = Number(/^--max-old-space-size=(\d+)$/.exec(nodeOptions ? str(nodeOptions, 'value') : '')?.[1]);
    const limit = /^(\d+)Mi$/.exec(str(c, 'resources', 'limits', 'memory'));
    expect(heapMiB, 'NODE_OPTIONS --max-old-space-size').to.be.greaterThan(0);
    expect(Number(limit?.[1]) - heapMiB, 'memory limit minus the heap bound (MiB)').to.be.at.least(150);
    const svc = one(CONTROLLER, 'Service');
    expect(obj(svc, 'spec', 'selector')).to.deep.equal(obj(d, 'spec', 'selector', 'matchLabels'));
  });

  it('the agent DaemonSet mounts the node config directories and reads only its output', () => {
    const ds = one(AGENT, 'DaemonSet');
    const pod = obj(ds, 'spec', 'template', 'spec');
    const c = obj(arr(pod, 'containers')[0]);
    expect(str(arr(c, 'args')[0])).to.equal('agent');
    const hostPaths = arr(pod, 'volumes')
      .filter((v) => isObject(v) && isObject(v.hostPath))
      .map((v) => str(v, 'hostPath', 'path'));
    expect(hostPaths).to.include.members(['/etc/containers', '/etc/containerd/certs.d']);
    expect(obj(c, 'securityContext')).to.deep.include({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const output = one(AGENT, 'Role', 'image-mirror-agent-output');
    for (const r of rules(output)) {
      expect(arr(r, 'resourceNames')).to.deep.equal(['cluster-image-mirrors']);
      expect(arr(r, 'verbs')).to.deep.equal(['get', 'list', 'watch']);
    }
    const nodes = one(AGENT, 'ClusterRole', 'image-mirror-agent');
    expect(verbs(nodes, '', 'nodes')).to.deep.equal(['get', 'patch']);
    expect(verbs(nodes, '', 'nodes/status')).to.deep.equal(['patch']);
    expect(verbs(nodes, '', 'configmaps')).to.deep.equal([]);
  });

  it('both workloads use the image the kustomizations pin, and bindings name existing service accounts', () => {
    for (const [dir, objects] of [
      ['deploy', CONTROLLER],
      ['deploy/agent', AGENT],
    ] as const) {
      const images = arr(documents(`${dir}/kustomization.yaml`)[0], 'images').map((i) => str(i, 'name'));
      const sas = objects.filter((o) => o.kind === 'ServiceAccount').map((o) => `${str(o, 'metadata', 'namespace')}/${str(o, 'metadata', 'name')}`);
      for (const o of objects) {
        if (o.kind === 'Deployment' || o.kind === 'DaemonSet') {
          const image = str(arr(obj(o, 'spec', 'template', 'spec'), 'containers')[0], 'image');
          expect(images, `${dir}: ${image}`).to.include(image);
        }
        if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
          for (const s of arr(o, 'subjects')) expect(sas, `${dir}: ${str(o, 'metadata', 'name')}`).to.include(`${str(s, 'namespace')}/${str(s, 'name')}`);
        }
      }
    }
  });
});

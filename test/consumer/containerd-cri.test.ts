// containerd as the kubelet uses it: the CRI plugin, pulled through with
// crictl, reading hosts.toml from /etc/containerd/certs.d by its config_path
// (the other consumer tests use `ctr --hosts-dir`, which never looks at
// config_path). This is where containerd 1.6 and 2.x differ: 2.x pulls for
// the CRI through its transfer service, which takes config_path as one
// directory, so a `:` list, and 2.x's own default list when config_path is
// unset, ignores every hosts.toml. Each row also asks the node agent's
// config check (src/agent/containerd-check.ts) about the same config file,
// and its verdict must match what containerd did.
import { expect } from 'chai';
import { evaluateContainerdConfig } from '../../src/agent/containerd-check.js';
import { ContainerdCri, installRendered, NodeEtc, type ContainerdRegistryConfig } from './lib/cri.js';
import { idms, plainHTTP, registryAccess } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { containerdRuntimes, type ContainerdRuntime } from './lib/runtimes.js';
import { explain, statusesOf, World, type TestImage } from './lib/world.js';

const CERTS_D = '/etc/containerd/certs.d';
const LIST = '/etc/containerd/certs.d:/etc/docker/certs.d';

interface Row {
  why: string;
  major: 1 | 2;
  reg: ContainerdRegistryConfig;
  /** Whether containerd uses the rendered hosts.toml (the mirror) or goes to the source. */
  readsHostsToml: boolean;
}

const rows: Row[] = [
  { why: 'config_path = the directory', major: 1, reg: { configPath: CERTS_D }, readsHostsToml: true },
  { why: 'config_path = a list (1.x splits it)', major: 1, reg: { configPath: LIST }, readsHostsToml: true },
  { why: 'config_path unset (1.x has no default)', major: 1, reg: {}, readsHostsToml: false },
  { why: 'config_path = the directory', major: 2, reg: { configPath: CERTS_D }, readsHostsToml: true },
  { why: "config_path unset: 2.x's default list is ignored by the transfer service", major: 2, reg: {}, readsHostsToml: false },
  { why: 'config_path = a list: ignored by the transfer service', major: 2, reg: { configPath: LIST }, readsHostsToml: false },
  { why: 'config_path unset with use_local_image_pull (the CRI plugin splits the list)', major: 2, reg: { localPull: true }, readsHostsToml: true },
];

describe('consumer: containerd CRI pulls (crictl) and config_path', function () {
  const world = new World();
  const etc: NodeEtc[] = [];
  let source: Registry;
  let mirror: Registry;
  let rendered: Rendered;
  const images = new Map<Row, TestImage>();
  const runtimes = new Map<number, ContainerdRuntime>(containerdRuntimes().map((r) => [r.major, r]));

  before(async function () {
    [source, mirror] = await Promise.all([world.registry(), world.registry()]);
    // A fresh image per row: containerd keeps what it pulled, and each row must show where its pull went.
    await Promise.all(rows.map(async (row, i) => images.set(row, await world.image(`cri-${i}`))));
    [rendered] = await Promise.all([
      renderOk([
        // AllowContactingSource: a containerd that ignores hosts.toml still pulls (from the source), so the
        // request logs, not the exit code, show which file it read.
        idms('cri', [{ source: `${source.host}/team/app`, mirrors: [`${mirror.host}/team/app`] }]),
        registryAccess('test-registries', plainHTTP(source.host, mirror.host)),
      ]),
      ...[...images.values()].flatMap((img) => [world.push(img, source, 'team/app'), world.push(img, mirror, 'team/app')]),
    ]);
  });
  after(async () => {
    await world.stop();
    await Promise.all(etc.map((e) => e.remove()));
  });
  beforeEach(() => world.clearLogs());

  for (const row of rows) {
    it(`containerd ${row.major === 1 ? '1.6.20' : '2.4.2'}: ${row.why} -> ${row.readsHostsToml ? 'pulls from the mirror' : 'pulls from the source'}`, async function () {
      const node = await NodeEtc.create();
      etc.push(node);
      await installRendered(rendered.out, node);
      const cri = await ContainerdCri.start(runtimes.get(row.major)!, node, row.reg);
      try {
        const img = images.get(row)!;
        const r = await cri.crictl.pull(`${source.host}/team/app@${img.manifestDigest}`);
        const why = `${await explain(rendered, r, { source, mirror })}\n${cri.configText}\n${cri.log()}`;
        expect(r.code, why).to.equal(0);
        const path = `/v2/team/app/manifests/${img.manifestDigest}`;
        if (row.readsHostsToml) {
          expect(statusesOf(mirror, path), why).to.deep.equal([200]);
          expect(source.connections(), why).to.equal(0);
        } else {
          expect(mirror.requests(), why).to.deep.equal([]);
          expect(statusesOf(source, path), why).to.deep.equal([200]);
        }
        // The agent's check reads the same file and must come to the same answer.
        const check = evaluateContainerdConfig([{ path: '/etc/containerd/config.toml', text: cri.configText }], CERTS_D);
        expect(check.status, check.message).to.equal(row.readsHostsToml ? 'True' : 'False');
      } finally {
        await cri.stop();
      }
    });
  }
});

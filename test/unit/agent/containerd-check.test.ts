import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkContainerd, evaluateContainerdConfig } from '../../../src/agent/containerd-check.js';

const DIR = '/etc/containerd/certs.d';
const doc = (text: string, path = '/etc/containerd/config.toml'): { path: string; text: string } => ({ path, text });

describe('containerd config_path check', () => {
  const rows: Array<{ why: string; text: string; status: string; reason: string }> = [
    {
      why: 'version 2 key set',
      text: 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
      status: 'True',
      reason: 'ConfigPathSet',
    },
    {
      why: 'version 3 key set',
      text: 'version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "/etc/containerd/certs.d"\n',
      status: 'True',
      reason: 'ConfigPathSet',
    },
    {
      why: 'version 1 (no version) key set',
      text: '[plugins.cri.registry]\n  config_path = "/etc/containerd/certs.d/"\n',
      status: 'True',
      reason: 'ConfigPathSet',
    },
    {
      why: 'one of a list',
      text: 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/docker/certs.d:/etc/containerd/certs.d"\n',
      status: 'True',
      reason: 'ConfigPathSet',
    },
    {
      why: 'version 3 file with the version 2 key (wrong place): 2.x then uses its default list, which CRI pulls ignore',
      text: 'version = 3\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
      status: 'False',
      reason: 'ConfigPathListIgnored',
    },
    {
      why: 'version 3, config_path unset: the 2.x default is a list, which the transfer service reads as one directory',
      text: 'version = 3\n',
      status: 'False',
      reason: 'ConfigPathListIgnored',
    },
    {
      why: 'version 3, empty config_path: same default',
      text: 'version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = ""\n',
      status: 'False',
      reason: 'ConfigPathListIgnored',
    },
    {
      why: 'version 3, a list naming the directory: ignored by transfer-service pulls',
      text: 'version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"\n',
      status: 'False',
      reason: 'ConfigPathListIgnored',
    },
    {
      why: 'version 3, the default with use_local_image_pull (the client-side pull splits the list)',
      text: 'version = 3\n[plugins."io.containerd.cri.v1.images"]\n  use_local_image_pull = true\n',
      status: 'True',
      reason: 'ConfigPathDefault',
    },
    {
      why: 'version 3, a list with use_local_image_pull',
      text: 'version = 3\n[plugins."io.containerd.cri.v1.images"]\n  use_local_image_pull = true\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "/etc/docker/certs.d:/etc/containerd/certs.d"\n',
      status: 'True',
      reason: 'ConfigPathSet',
    },

    {
      why: 'empty config_path (containerd config default)',
      text: 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = ""\n',
      status: 'False',
      reason: 'ConfigPathNotSet',
    },
    { why: 'no registry section', text: 'version = 2\n', status: 'False', reason: 'ConfigPathNotSet' },
    {
      why: 'another directory',
      text: 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d"\n',
      status: 'False',
      reason: 'ConfigPathMismatch',
    },
    {
      why: 'a look-alike prefix',
      text: 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d.old"\n',
      status: 'False',
      reason: 'ConfigPathMismatch',
    },
    { why: 'not TOML', text: 'version = 2\n[plugins\n', status: 'Unknown', reason: 'ConfigInvalid' },
  ];
  for (const row of rows) {
    it(`${row.why} -> ${row.status} ${row.reason}`, () => {
      const r = evaluateContainerdConfig([doc(row.text)], DIR);
      expect([r.status, r.reason]).to.deep.equal([row.status, row.reason]);
      expect(r.message).to.include('/etc/containerd/');
    });
  }

  it('version 3 default with use_local_image_pull, but the agent writes elsewhere: ConfigPathMismatch', () => {
    const r = evaluateContainerdConfig([doc('version = 3\n[plugins."io.containerd.cri.v1.images"]\n  use_local_image_pull = true\n')], '/srv/certs.d');
    expect([r.status, r.reason]).to.deep.equal(['False', 'ConfigPathMismatch']);
    expect(r.message).to.include("2.x's default");
  });

  it('a later import overrides the main file, as containerd merges them', () => {
    const main = doc('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/elsewhere"\n');
    const imp = doc(
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
      '/etc/containerd/conf.d/10.toml',
    );
    const r = evaluateContainerdConfig([main, imp], DIR);
    expect(r.status).to.equal('True');
    expect(r.message).to.include('/etc/containerd/conf.d/10.toml');
  });

  it('reads the file and its globbed imports under the root; reports a missing file as Unknown', async () => {
    const root = await mkdtemp(join(tmpdir(), 'imc-ctrd-'));
    try {
      expect((await checkContainerd(root, '/etc/containerd/config.toml')).reason).to.equal('ConfigNotFound');
      await mkdir(join(root, 'etc/containerd/conf.d'), { recursive: true });
      await writeFile(join(root, 'etc/containerd/config.toml'), 'version = 2\nimports = ["conf.d/*.toml"]\n');
      expect((await checkContainerd(root, '/etc/containerd/config.toml')).reason).to.equal('ConfigPathNotSet');
      await writeFile(
        join(root, 'etc/containerd/conf.d/50-mirrors.toml'),
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
      );
      await writeFile(join(root, 'etc/containerd/conf.d/50-mirrors.toml.bak'), 'version = 2\n');
      const r = await checkContainerd(root, '/etc/containerd/config.toml');
      expect([r.status, r.reason]).to.deep.equal(['True', 'ConfigPathSet']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

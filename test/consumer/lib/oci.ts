// Writes a minimal OCI image layout (one gzipped layer, a config, a manifest)
// with Node's own zlib and crypto, so tests need no image tooling or network.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface OciImage {
  /** `sha256:<hex>` of the manifest: what a digest pull asks for. */
  manifestDigest: string;
  /** The layer blob digest (compressed), to recognise blob requests in logs. */
  layerDigest: string;
  configDigest: string;
}

const BLOCK = 512;

/** One ustar header block for a regular file (POSIX 1003.1-1988 layout). */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const put = (text: string, offset: number, len: number): void => {
    h.write(text.slice(0, len), offset, len, 'ascii');
  };
  const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0');
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12); // mtime: fixed so the digest is reproducible
  put('0', 156, 1); // regular file
  put('ustar\u000000', 257, 8);
  // The checksum is computed with its own field read as eight spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${octal(sum, 7)}\u0000 `, 148, 8);
  return h;
}

/** A tar archive holding a single file, padded and terminated as tar requires. */
export function tarOneFile(name: string, content: Buffer): Buffer {
  const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
  return Buffer.concat([tarHeader(name, content.length), content, Buffer.alloc(pad), Buffer.alloc(2 * BLOCK)]);
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

async function writeBlob(dir: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  return digest;
}

/**
 * Writes an OCI layout at `dir` holding one image tagged `tag`. `marker`
 * goes into the layer, so images with different markers have different digests.
 */
export async function writeOciLayout(dir: string, tag: string, marker: string): Promise<OciImage> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const tar = tarOneFile('marker.txt', Buffer.from(`${marker}\n`));
  const layer = gzipSync(tar);
  const layerDigest = await writeBlob(dir, layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: goArch(),
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  );
  const configDigest = await writeBlob(dir, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = await writeBlob(dir, manifest);
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifestDigest,
        size: manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { manifestDigest, layerDigest, configDigest };
}

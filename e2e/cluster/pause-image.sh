#!/usr/bin/env bash
# Packs the pause binary (e2e/controlplane/cmd/pause, built by build.sh) into
# an OCI image archive that `ctr images import` takes: one uncompressed layer
# holding /pause, no registry involved. Byte-reproducible (fixed mtimes and
# owners), cached by the binary's digest.
#
#   e2e/cluster/pause-image.sh BIN_DIR      prints "ARCHIVE IMAGE_NAME"
set -euo pipefail

bin="${1:?usage: $0 BIN_DIR}"
cache="${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/pause"
mkdir -p "$cache"

sum() { sha256sum "$1" | cut -d' ' -f1; }
key="$(sum "$bin/pause" | cut -c1-16)"
name="localhost/image-mirror/pause:$key"
out="$cache/pause-$key.oci.tar"
if [[ -f "$out" ]]; then
  echo "$out $name"
  exit 0
fi

work="$(mktemp -d "$cache/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/oci/blobs/sha256"
install -m 0755 "$bin/pause" "$work/root/pause"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/root" -cf "$work/layer.tar" pause

blob() { # FILE -> digest hex; stores the blob
  local d
  d="$(sum "$1")"
  cp "$1" "$work/oci/blobs/sha256/$d"
  echo "$d"
}
size() { stat -c %s "$1"; }

layer="$(blob "$work/layer.tar")"
# As upstream's pause image: unprivileged user, /pause as the entry point.
printf '{"architecture":"amd64","os":"linux","config":{"User":"65535:65535","Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$layer" >"$work/config.json"
config="$(blob "$work/config.json")"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$config" "$(size "$work/config.json")" "$layer" "$(size "$work/layer.tar")" >"$work/manifest.json"
manifest="$(blob "$work/manifest.json")"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$(size "$work/manifest.json")" "$name" "$key" >"$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/oci" -cf "$work/out.tar" .
mv "$work/out.tar" "$out"
echo "$out $name"

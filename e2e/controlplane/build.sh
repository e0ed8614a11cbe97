#!/usr/bin/env bash
# Builds kube-apiserver and etcd, and for the cluster tier (e2e/cluster)
# kubelet, kube-controller-manager, kube-scheduler, kubectl and the pause
# binary, from source (Go toolchain + module proxy only) into a
# content-addressed cache directory outside git, and reuses them when present.
# Every command under cmd/ is built in one `go build`, so the packages they
# share are compiled once.
#
#   e2e/controlplane/build.sh            prints the bin directory on stdout
#
# Cache layout: ${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/controlplane/<key>/bin/
# where <key> hashes go.mod, go.sum, the cmd/ sources, the Go version and the
# link flags: any of those changing yields a new directory, never a stale binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/controlplane"

k8s_version=v1.34.4
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=${k8s_version}"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=34"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=${k8s_version}"

log() { echo "controlplane-build: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "the Go toolchain is required (go.mod asks for $(awk '/^go /{print $2}' "$here/go.mod") or newer)"
  exit 1
fi

cache_key() {
  (
    cd "$here"
    sha256sum go.mod go.sum $(find cmd -type f -name '*.go' | LC_ALL=C sort)
    go env GOVERSION GOOS GOARCH
    echo "$ldflags"
  ) | sha256sum | cut -c1-16
}

key="$(cache_key)"
dest="$cache_root/$key"
bin="$dest/bin"

# One binary per directory under cmd/.
commands=()
for d in "$here"/cmd/*/; do commands+=("$(basename "$d")"); done

complete() {
  local c
  for c in "${commands[@]}"; do [[ -x "$bin/$c" ]] || return 1; done
}

reuse_if_present() {
  if complete; then
    log "reusing $bin"
    echo "$bin"
    exit 0
  fi
}

reuse_if_present
mkdir -p "$cache_root"
# Concurrent callers (parallel test runs) wait for one build instead of racing.
exec 9>"$cache_root/$key.lock"
if ! flock -n 9; then
  log "waiting for another build of $key to finish"
  flock 9
fi
reuse_if_present
# Build into a private temp dir on the same filesystem, then rename: a killed
# build leaves only a tmp.* directory that the next build removes.
find "$cache_root" -maxdepth 1 -name 'tmp.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
tmp="$(mktemp -d "$cache_root/tmp.XXXXXX")"
mkdir -p "$tmp/bin" && chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

log "building ${commands[*]} (${k8s_version}) into $bin (several minutes on a cold Go cache)"
start=$SECONDS
(
  cd "$here"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/" ./cmd/...
)
"$tmp/bin/kube-apiserver" --version >&2
# Not `| head -1`: under pipefail, etcd's SIGPIPE when head exits early failed the build.
"$tmp/bin/etcd" --version >"$tmp/etcd.version"
head -1 "$tmp/etcd.version" >&2 && rm -f "$tmp/etcd.version"
for c in "${commands[@]}"; do
  [[ -x "$tmp/bin/$c" ]] || { log "go build produced no $c"; exit 1; }
done

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
log "built in $((SECONDS - start))s: $(du -sh "$bin" | cut -f1)"
echo "$bin"

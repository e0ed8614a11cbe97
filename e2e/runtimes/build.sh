#!/usr/bin/env bash
# Builds current node-side consumers from the Go module proxy into a
# content-addressed cache outside git, and reuses them when present:
#
#   e2e/runtimes/build.sh containerd        containerd, ctr, containerd-shim-runc-v2 (v2.x)
#   e2e/runtimes/build.sh containers-image  imagecopy: `skopeo copy` over the current containers/image
#   e2e/runtimes/build.sh crio              crio + pinns (cgo: libseccomp, gpgme)
#   e2e/runtimes/build.sh crictl            crictl (cri-tools)
#   e2e/runtimes/build.sh all               every one of them
#
# Prints one line per component on stdout: `NAME BIN_DIR`.
#
#   e2e/runtimes/build.sh --locate NAME...  prints the same without building; exits 3 when one is missing
#
# Cache layout: ${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/runtimes/<name>-<key>/bin/
# where <key> hashes the module and version, the packages, build tags, link
# flags, cgo setting, the Go version, RECIPE and any local sources (imagecopy/), so a
# change to any of them builds into a new directory and a stale binary is never
# reused. Builds go to a temporary directory renamed into place when complete;
# a lock per key makes concurrent callers wait for one build.
#
# Nothing here is committed: `go install module/pkg@version` reads the module
# from the proxy into the Go module cache and builds it as published.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${IMAGE_MIRROR_CACHE:-$HOME/.cache/image-mirror}/runtimes"

# Versions under test. containerd: the newest 2.x the module proxy serves.
# containers/image: the newest go.podman.io/image/v5 (what current skopeo,
# podman and CRI-O build on; skopeo itself is not served by the proxy).
# CRI-O: the newest release the proxy serves (v1.34.0; later ones are refused).
CONTAINERD_VERSION=v2.4.2
CRIO_VERSION=v1.34.0
CRITOOLS_VERSION=v1.37.0

# Bump when the way a component is built changes (go_build, build_pinns).
RECIPE=1

log() { echo "runtimes-build: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "the Go toolchain is required"
  exit 1
fi

# Component table: module, version, packages, tags, cgo, ldflags.
component() {
  name="$1"
  local_src=""
  case "$name" in
    containerd)
      module=github.com/containerd/containerd/v2
      version=$CONTAINERD_VERSION
      pkgs=(cmd/containerd cmd/ctr cmd/containerd-shim-runc-v2)
      tags="urfave_cli_no_docs no_btrfs"
      cgo=0
      ldflags="-s -w -X $module/version.Version=$version -X $module/version.Package=$module -X $module/version.Revision=module-proxy"
      check=(containerd --version)
      ;;
    containers-image)
      module=local
      version=go.podman.io/image/v5
      pkgs=(.)
      tags="containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper"
      cgo=0
      ldflags="-s -w"
      local_src="$here/imagecopy"
      check=(imagecopy --version)
      ;;
    crio)
      # A module of ours (crio/go.mod) that requires CRI-O as a tool: `go
      # install crio@version` stops at the proxy refusing CRI-O's version
      # list (it looks for a deprecation notice). CRI-O v1.34.0 pins a
      # pseudo-version of containerd/nri that the checksum database does not
      # know (its API differs from every nri release): crio/go.sum records the
      # hash of the proxy's copy, taken once with GONOSUMDB for that module
      # only, and every build is checked against it.
      module=local
      version=$CRIO_VERSION
      pkgs=(github.com/cri-o/cri-o/cmd/crio)
      local_src="$here/crio"
      # seccomp: libseccomp through cgo (libseccomp-dev); gpgme signature
      # support stays out (containers_image_openpgp), as do btrfs and
      # devicemapper storage, which need more C libraries and are never used.
      tags="seccomp containers_image_openpgp containers_image_ostree_stub exclude_graphdriver_btrfs exclude_graphdriver_devicemapper"
      cgo=1
      ldflags="-s -w"
      check=(crio --version)
      ;;
    crictl)
      module=sigs.k8s.io/cri-tools
      version=$CRITOOLS_VERSION
      pkgs=(cmd/crictl)
      tags=""
      cgo=0
      ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$version"
      check=(crictl --version)
      ;;
    *)
      log "unknown component $name (containerd, containers-image, crio, crictl, all)"
      exit 2
      ;;
  esac
}

cache_key() {
  {
    echo "$name $module $version ${pkgs[*]} tags=$tags cgo=$cgo"
    echo "$ldflags"
    go env GOVERSION GOOS GOARCH
    echo "recipe=$RECIPE"
    if [[ -n "$local_src" ]]; then
      (cd "$local_src" && sha256sum $(find . -type f | LC_ALL=C sort))
    fi
    if [[ "$cgo" == 1 ]]; then gcc --version | head -1; fi
  } | sha256sum | cut -c1-16
}

need_cgo_deps() {
  local missing=()
  dpkg -s libseccomp-dev >/dev/null 2>&1 || missing+=(libseccomp-dev)
  dpkg -s libgpgme-dev >/dev/null 2>&1 || missing+=(libgpgme-dev)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  if ((${#missing[@]} > 0)); then
    log "installing Debian packages for the cgo build: ${missing[*]}"
    local sudo=""
    [[ "$(id -u)" -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

go_build() {
  local out="$1"
  if [[ "$module" == local ]]; then
    (cd "$local_src" && CGO_ENABLED=$cgo go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out/" "${pkgs[@]}")
  else
    local targets=()
    for p in "${pkgs[@]}"; do targets+=("$module/$p@$version"); done
    # go install with @version builds the module exactly as published (its
    # own go.mod and go.sum); GOFLAGS from the environment must not add -mod.
    GOFLAGS=-buildvcs=false GOBIN="$out" CGO_ENABLED=$cgo go install -trimpath -tags "$tags" -ldflags "$ldflags" "${targets[@]}"
  fi
}

# pinns (CRI-O's namespace pinning helper) is C in the same module.
build_pinns() {
  local out="$1" src
  src="$(go mod download -json "github.com/cri-o/cri-o@$CRIO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  gcc -O2 -std=c99 -Os -Wall -o "$out/pinns" "$src"/pinns/src/*.c
}

build_one() {
  component "$1"
  local key dest bin tmp start
  key="$(cache_key)"
  dest="$cache_root/$name-$key"
  bin="$dest/bin"
  if [[ -x "$bin/${check[0]}" ]]; then
    [[ "$locate" == 1 ]] || log "reusing $bin"
    echo "$name $bin"
    return
  fi
  if [[ "$locate" == 1 ]]; then
    log "$name is not built: run e2e/runtimes/build.sh $name (or make runtimes-build)"
    return 3
  fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/$name-$key.lock"
  if ! flock -n 9; then
    log "waiting for another build of $name-$key to finish"
    flock 9
  fi
  if [[ -x "$bin/${check[0]}" ]]; then
    exec 9>&-
    log "reusing $bin"
    echo "$name $bin"
    return
  fi
  [[ "$cgo" == 1 ]] && need_cgo_deps
  find "$cache_root" -maxdepth 1 -name 'tmp.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
  tmp="$(mktemp -d "$cache_root/tmp.XXXXXX")"
  mkdir -p "$tmp/bin" && chmod 755 "$tmp"
  log "building $name ($module $version) into $bin"
  start=$SECONDS
  if ! go_build "$tmp/bin" || { [[ "$name" == crio ]] && ! build_pinns "$tmp/bin"; }; then
    rm -rf "$tmp"
    exec 9>&-
    log "build of $name failed"
    return 1
  fi
  "$tmp/bin/${check[0]}" "${check[@]:1}" 2>&1 | head -1 >&2 || true
  rm -rf "$dest"
  mv "$tmp" "$dest"
  exec 9>&-
  log "built $name in $((SECONDS - start))s: $(du -sh "$bin" | cut -f1)"
  echo "$name $bin"
}

locate=0
if [[ "${1:-}" == --locate ]]; then
  locate=1
  shift
fi
(($# > 0)) || set -- all
for c in "$@"; do
  if [[ "$c" == all ]]; then
    for a in containerd containers-image crictl crio; do build_one "$a"; done
  else
    build_one "$c"
  fi
done

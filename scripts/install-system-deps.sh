#!/usr/bin/env bash
# Installs the Debian packages the tests use, idempotently:
# - consumer tests: containerd (ctr, with runc), skopeo, docker-registry
#   (distribution), openssl, htpasswd (apache2-utils), and conmon and runc for
#   CRI-O (built by e2e/runtimes/build.sh, which installs its own -dev packages);
# - cluster tier (e2e/cluster) and the image build (scripts/image-build.sh):
#   runc (the OCI runtime of every node and of buildah), the CNI plugins
#   (loopback, bridge, host-local), iproute2 (network namespace set-up),
#   util-linux (unshare, nsenter), procps (ps: teardown finds processes by
#   namespace), buildah, debootstrap (the local base image).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ctr || need+=(containerd)
have runc || need+=(runc)
have conmon || need+=(conmon)
have skopeo || need+=(skopeo)
have docker-registry || need+=(docker-registry)
have openssl || need+=(openssl)
have htpasswd || need+=(apache2-utils)
have ip || need+=(iproute2)
have nsenter || need+=(util-linux)
have ps || need+=(procps)
have buildah || need+=(buildah)
have debootstrap || need+=(debootstrap)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

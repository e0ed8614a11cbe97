#!/usr/bin/env bash
# Installs the Debian packages the tests use as real consumers and registries:
# containerd (ctr), skopeo, docker-registry (distribution), and conmon and runc
# for CRI-O (built by e2e/runtimes/build.sh). Idempotent.
set -euo pipefail
need=()
command -v ctr >/dev/null 2>&1 || need+=(containerd)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v conmon >/dev/null 2>&1 || need+=(conmon)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

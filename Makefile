# image-mirror: every entry point a developer or CI needs.
#   make run    render the examples on the local API server (or $KUBECONFIG) and show the result
#   make test   install what the tests need, then lint, and run unit, consumer, e2e and cluster tests
#   make lint   biome: lint rules and formatting check (make format rewrites the files)
#   make cluster       real nodes with the operator deployed from its image (make cluster-down stops it)
SHELL := /bin/bash
.DEFAULT_GOAL := build

NODE_MODULES_STAMP := node_modules/.install-stamp

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

.PHONY: deps
deps: $(NODE_MODULES_STAMP)

# Debian packages used by the consumer, chain and cluster tests and the image build
# (containerd, runc, skopeo, docker-registry, CNI plugins, buildah, debootstrap).
.PHONY: system-deps
system-deps:
	scripts/install-system-deps.sh

.PHONY: build
build: $(NODE_MODULES_STAMP)
	npx tsc -p tsconfig.json

.PHONY: lint
lint: $(NODE_MODULES_STAMP)
	npx biome ci .

.PHONY: format
format: $(NODE_MODULES_STAMP)
	npx biome check --write .

.PHONY: test
test: system-deps lint build controlplane-build runtimes-build
	npm run --silent test:unit
	npm run --silent test:consumer
	npm run --silent test:e2e
	npm run --silent test:cluster

.PHONY: test-unit
test-unit: build
	npm run --silent test:unit

.PHONY: test-consumer
test-consumer: system-deps build runtimes-build
	npm run --silent test:consumer

# containerd 2.x, the current containers/image (imagecopy), CRI-O and crictl,
# built from the Go module proxy into ~/.cache/image-mirror/runtimes (e2e/runtimes).
.PHONY: runtimes-build
runtimes-build:
	e2e/runtimes/build.sh all >/dev/null

.PHONY: test-e2e
test-e2e: build controlplane-build
	npm run --silent test:e2e

# The cluster tier (e2e/cluster): the image built from the Dockerfile, real nodes, deploy/ applied.
.PHONY: test-cluster
test-cluster: system-deps build controlplane-build
	npm run --silent test:cluster

# The project image from the Dockerfile, built without a registry (scripts/image-build.sh).
.PHONY: image
image: system-deps
	scripts/image-build.sh

.PHONY: cluster
cluster: system-deps build controlplane-build
	scripts/cluster.sh

.PHONY: cluster-down
cluster-down:
	e2e/cluster/down.sh .cluster --purge

# kube-apiserver, etcd, kubelet, kube-controller-manager, kube-scheduler, kubectl and pause
# built from source into a cache outside git (e2e/controlplane).
.PHONY: controlplane-build
controlplane-build:
	e2e/controlplane/build.sh

.PHONY: controlplane
controlplane: controlplane-build
	e2e/controlplane/up.sh

.PHONY: controlplane-down
controlplane-down:
	e2e/controlplane/down.sh

.PHONY: run
run: build controlplane-build
	scripts/run.sh

.PHONY: bench
bench: build controlplane-build
	scripts/bench.sh

.PHONY: clean
clean:
	rm -rf dist

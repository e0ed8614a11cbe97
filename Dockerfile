# image-mirror: one image for both `controller` and `agent` (and `render`).
#
# Two ways to build this same file:
#   docker build -t ghcr.io/image-mirror-operator/image-mirror:v0.1.0 .
#       (or podman/buildah) with the public node:22-bookworm-slim base;
#   scripts/image-build.sh   (make image; every `make test` runs it)
#       with no registry at all: a node:22-bookworm-slim made locally
#       (debootstrap bookworm + Node.js 22 from the npm registry), tagged
#       with this name only in buildah's private storage, --pull=never.
# Node.js 22 LTS is what the image ships; see the README (Decisions).
# Kept plain (two stages, no build-time mounts) so that any builder takes it.

# --- build: compile TypeScript with the locked toolchain ---
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Only src/ is copied: tsconfig's test/e2e/bench globs match nothing here.
RUN npx tsc -p tsconfig.json

# --- runtime: production dependencies and the compiled code only ---
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/src ./dist/src
COPY bin ./bin
# Non-root by default (the controller needs nothing else). The agent's
# DaemonSet overrides this with uid 0 and no capabilities to write host files.
USER 65532:65532
ENTRYPOINT ["node", "dist/src/cli/main.js"]

# image-mirror: one image for both `controller` and `agent` (and `render`).
#
#   docker build -t ghcr.io/image-mirror-operator/image-mirror:v0.1.0 .
#
# Kept deliberately plain (two stages, no build-time tricks) because it is
# not built in this repository's CI: no container engine runs there. The
# steps mirror `make build` (npm ci, tsc) and are exercised that way.

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

# One image for every role of the pipeline: producer, workers (by WORKER_ROLES), the local API
# Gateway host and the emulators. The command picks the role (see docker-compose.yml), e.g.
#   docker run --rm -e REDIS_URL=redis://redis:6379 llmconv node dist/workers/main.js
#
# Stage 1 compiles the TypeScript with tsc (`npm run build`) and prunes the dev dependencies;
# stage 2 is the runtime: no compiler, no dev dependencies, not root.

# Node 24, the newest LTS line: the one CI also runs the unit suite and the demo on (.ci/node24).
# --build-arg NODE_VERSION=22 picks the other supported line (not built here); README, "Node.js and npm".
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# .npmrc: the lock carries no download URLs (README, "Node.js and npm"); package.json's
# allowScripts lets esbuild's and msgpackr-extract's install scripts run without npm's warning.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
# `npm run build` is tsc plus llm.proto, which proto/codec.js loads from beside itself, and the
# Lua scripts (store/lua/ and coordination/lua/, which store/redis-script.js and
# coordination/redis-script.js load from beside themselves). Then only
# what runs stays: no tests, scripts or benchmarks, production dependencies only. npm keeps
# TypeScript and some @types as optional peers of runtime packages (valibot, via @bull-board/api):
# types only, never loaded at run time, so they go, as do the dependencies' source maps and
# declarations (only dist/'s maps are used, by --enable-source-maps; the others' sources are not
# shipped).
RUN npm run build \
 && rm -rf dist/test dist/scripts dist/bench \
 && find dist \( -name '*.test.js' -o -name '*.test.js.map' \) -delete \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/typescript node_modules/@typescript node_modules/@types node_modules/.bin/tsc \
 && find node_modules \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    HOST=0.0.0.0 \
    OUTPUT_DIR=/data/output
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's own user "node" (uid 1000) owns only the transcript directory.
RUN mkdir -p /data/output && chown node:node /data/output
USER node
# producer 8080, local API Gateway 3001, worker metrics 9464, emulators 4010 and 11434/11435
EXPOSE 8080 3001 9464
CMD ["node", "dist/producer/main.js"]

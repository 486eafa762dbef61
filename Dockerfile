# syntax=docker/dockerfile:1
# llm-proxy on Node 24 with production dependencies only, as a non-root user. There is no build step: Node 24 runs
# src/*.ts directly (type stripping), so the image holds the sources, the generated gen/ and node_modules.
#
#   docker build -t llm-proxy .
#   docker run --rm -p 9000:9000 llm-proxy          # config/config.example.yaml: echo models, no keys needed
#   docker run --rm -p 9000:9000 -e OPENAI_API_KEY \
#     -v "$PWD/config.yaml:/app/config/config.yaml:ro" llm-proxy   # your config (the Python proxy's loads as is)
#
# test/docker/dockerfile.test.ts lints this file and runs its CMD and HEALTHCHECK outside a container.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no test tools, no buf, no `node` devDependency (the image's own Node 24 runs the app).
# --ignore-scripts: the only production install script is core-js's postinstall banner.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# jemalloc instead of glibc's malloc: glibc keeps the pages that per-request native buffers free inside its heap
# (RSS climbed ~25 % over 200,000 requests with a flat V8 heap); jemalloc's background thread returns them after a
# second. The symlink gives one LD_PRELOAD path on amd64 and arm64. See bench/lib/allocator.ts.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjemalloc2 \
  && rm -rf /var/lib/apt/lists/* \
  && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
  MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
WORKDIR /app
# Owned by root and read-only for the `node` user that runs the gateway, except the embedded store's folder below.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY gen ./gen
COPY src ./src
COPY config/config.example.yaml ./config/config.example.yaml
# The embedded SQLite store (store.path, default data/llm-proxy.db next to the config): the one folder the gateway
# writes. Mount a volume here to keep keys and the spend log (-v llm-proxy-data:/app/config/data); with
# store.postgres_url (several replicas, deploy/) nothing is written.
RUN mkdir /app/config/data && chown node:node /app/config/data
USER node
# HTTP/1.1, h2c (gRPC) and Connect on one port.
EXPOSE 9000
# Readiness, not liveness: unhealthy while a shutdown drains (GET /ready needs no key even with `auth` keys).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9000/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Without --config: config/config.yaml when mounted, else the example. Node is PID 1 and handles SIGTERM itself.
CMD ["node", "src/main.ts", "--host", "0.0.0.0"]

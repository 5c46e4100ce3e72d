# Pennant container image. Build: docker build -t pennant .   (see docs/container.md)
# test/integration/dockerfile.test.ts checks that these steps stay the project's own: the Node major of .nvmrc
# and package.json `engines`, the README's `npm ci` (whose `prepare` script runs `npm run build`) and `npm start`.

# Build stage: the project's own build. `npm ci` installs the locked dependencies and runs `prepare`, which
# runs `npm run build` (tsc, then dist/build-info.json); dev dependencies are dropped afterwards.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# The web console's sources; the build bundles them into dist/console with Vite.
COPY web ./web
# The commit reported by GET /meta/info (the context has no .git): --build-arg PENNANT_BUILD_COMMIT=$(git rev-parse HEAD)
ARG PENNANT_BUILD_COMMIT
RUN npm ci && npm prune --omit=dev

# Runtime stage: Node, git and ssh for the git storages, tini as PID 1, and the built package only.
FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 pennant \
  && useradd --system --uid 10001 --gid pennant --home-dir /home/pennant --create-home \
    --shell /usr/sbin/nologin pennant \
  && mkdir -p /var/opt/flipt \
  && chown pennant:pennant /var/opt/flipt
WORKDIR /app
# Owned by root: the server cannot change its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# Defaults, each overridable with -e: flag state is a git repository in the volume (initialised on first start
# when the directory is empty), logs are JSON lines. Everything else is Flipt's defaults (docs/configuration.md).
ENV FLIPT_STORAGE_DEFAULT_BACKEND_TYPE=local \
  FLIPT_STORAGE_DEFAULT_BACKEND_PATH=/var/opt/flipt \
  FLIPT_LOG_ENCODING=json
VOLUME ["/var/opt/flipt"]
# HTTP (REST, Connect, gRPC-Web, gRPC over h2c) and gRPC.
EXPOSE 8080 9000
USER 10001:10001

# Slim images have no curl: node fetches /health on the HTTP port (FLIPT_SERVER_HTTP_PORT when set).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FLIPT_SERVER_HTTP_PORT||'8080')+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# tini forwards SIGTERM (graceful shutdown) and reaps the git and ssh processes the server starts.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/cli/main.js", "server"]

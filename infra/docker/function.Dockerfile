# syntax=docker/dockerfile:1
# Function images: the watchdog is the entrypoint and runs the function process, as OpenFaaS
# templates do.
#
#   Base image (watchdog only; a function image starts FROM it and sets fprocess):
#     docker build -f infra/docker/function.Dockerfile --target function-base -t ferry-function-base .
#   An example function (context: the repository root):
#     docker build -f infra/docker/function.Dockerfile \
#       --build-arg FUNCTION_DIR=examples/functions/echo -t ferry-fn-echo .
#
# A function of your own:
#   FROM ferry-function-base
#   COPY --chown=root:root . /home/app
#   ENV fprocess="node server.js" upstream_url="http://127.0.0.1:3000" PORT=3000

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: the watchdog and its workspace dependencies compiled (with native/build/ferry-spawn),
#     dev dependencies removed ---
FROM ${NODE_IMAGE} AS build
# A C compiler for the watchdog's native spawner (native/spawn.c), built by the package's build.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npx turbo run build --filter=@ferry/watchdog... --filter=@ferry/runtime \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts \
 && mkdir -p /out/shared /out/services \
 && cp -a package.json node_modules /out/ \
 && cp -a shared/runtime /out/shared/ \
 && cp -a services/watchdog /out/services/ \
 && rm -rf /out/shared/runtime/src /out/services/watchdog/src /out/services/watchdog/test

# --- function-base: node, the watchdog as entrypoint, an unprivileged user ---
FROM ${NODE_IMAGE} AS function-base
ENV NODE_ENV=production \
    mode=http \
    port=8080 \
    metrics_port=8081
COPY --from=build --chown=root:root /out /opt/ferry
WORKDIR /home/app
USER node
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.port||8080)+'/_/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/ferry/services/watchdog/dist/main.js"]

# --- function: an example function on the base; FUNCTION_DIR is a path in the build context ---
FROM function-base AS function
ARG FUNCTION_DIR=examples/functions/echo
# Debian packages the function needs, e.g. python3.
ARG EXTRA_PACKAGES=""
USER root
RUN if [ -n "$EXTRA_PACKAGES" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $EXTRA_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --chown=root:root ${FUNCTION_DIR} /home/app
USER node

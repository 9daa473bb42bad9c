# syntax=docker/dockerfile:1
# The presence service: `node dist/main.js` as a non-root user, production dependencies only.
#   docker build -t vj-presence:dev .
# Node.js LTS on Debian bookworm (slim), the same major in every stage. Pin a digest in your registry's
# copy (node:24-bookworm-slim@sha256:...) for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only, in a stage of their own so source changes don't re-download them.
# --ignore-scripts: no dependency of the app needs an install script.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The build: every dependency (Nest CLI, TypeScript, ...), then `npm run build` to dist/ (the Lua scripts
# and static assets included). The sources are whatever .dockerignore lets through: src/, scripts/ and
# the build's config files, never node_modules, dist/ or tests.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# What runs: package.json (it makes dist/ ES modules), dist/ and the production node_modules, owned by
# root and so read-only to the app, which writes nothing (the pod runs with a read-only root filesystem).
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's `node` user, by number so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 1000:1000
EXPOSE 3000
# Node is PID 1: the app handles SIGTERM itself (readiness 503, sockets drained over DRAIN_MS, exit 0).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]

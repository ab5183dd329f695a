# syntax=docker/dockerfile:1
# Two stages: the build (dev dependencies, swc) and a runtime image with production
# dependencies only, run as the unprivileged `node` user.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .swcrc ./
RUN npm ci --no-audit --no-fund
COPY apps apps
COPY libs libs
COPY migrations migrations
COPY bench bench
COPY scripts scripts
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Generated images live on a volume mounted here (STORAGE_DIR); the node user must own it.
RUN mkdir -p /images && chown node:node /images
ENV STORAGE_DIR=/images
USER node
EXPOSE 3000
# Liveness only: /health/ready also checks Redis, which the ledger does not need (docs/operations.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The API drains on SIGTERM (up to 10 s while Redis is unreachable); give it that long.
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/api/src/main.js"]

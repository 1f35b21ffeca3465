# procode-mock: the mock of the Procode APIs and its contract harness, in one image.
#
#   docker build -t procode-mock .
#   docker run --rm -p 4010:4010 procode-mock                 # the seeded mock on port 4010
#   docker run --rm --init procode-mock contract --target http://host.docker.internal:4010 --mock
#
# Settings come from the environment (README "Quick start": PORT, SEED, ACCOUNTS, PROCODE_*).
# No Docker engine runs where this is developed: `npm run docker:verify` builds this file with buildah
# and passes the contract harness against the mock running inside the built image.

# Every stage starts from Node.js 26.10.0 (the 26 LTS line, supported to April 2029; docs/decisions.md
# "Runtime") on Debian 12, pinned by tag and by its multi-arch manifest-list digest (Docker uses the
# digest; the tag says what it is). No registry is reachable where this is developed: the digest is the
# one public Dockerfiles pin for this tag, some building other platforms from it, not pulled here.
# Bump the tag and the digest together, in all three FROMs and the base labels below; these FROMs
# are the one source of the image's Node.js version (scripts/node-image.sh reads them for .ci/run's
# second test pass and docker:verify's stand-in; test/unit/runtime.test.ts checks engines and README).

# Stage 1: every dependency, then the TypeScript (tsconfig.build.json) compiled into dist/. Nothing
# here needs a dependency's install script (tsc is plain JavaScript), so none runs, in either stage.
FROM node:26.10.0-bookworm-slim@sha256:662933cf47f013bc8e4beb31a6116448427a82057ba7c42c97e4c5ba766504c2 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && rm -rf dist/bench

# Stage 2: production dependencies only (this layer is reused until package*.json change).
FROM node:26.10.0-bookworm-slim@sha256:662933cf47f013bc8e4beb31a6116448427a82057ba7c42c97e4c5ba766504c2 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 3: the runtime. Code and contract are owned by root and read-only to the process.
FROM node:26.10.0-bookworm-slim@sha256:662933cf47f013bc8e4beb31a6116448427a82057ba7c42c97e4c5ba766504c2 AS runtime
WORKDIR /app
LABEL org.opencontainers.image.title="procode-mock" \
      org.opencontainers.image.description="Stateful mock of the Procode API Portal APIs, driven by one OpenAPI 3.1 contract, and its contract harness" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.base.name="docker.io/library/node:26.10.0-bookworm-slim" \
      org.opencontainers.image.base.digest="sha256:662933cf47f013bc8e4beb31a6116448427a82057ba7c42c97e4c5ba766504c2"
# HOST: the mock binds 127.0.0.1 by default, unreachable from outside a container.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4010
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY contracts ./contracts
COPY --from=build /app/dist ./dist
# The only place the image expects writes: `contract --report /reports` (mount a volume there).
RUN mkdir /reports && chown node:node /reports
# `node` (uid 1000) comes with the official image.
USER node
EXPOSE 4010
# node, not curl (the slim image has none); follows PROCODE_PORT/PORT and PROCODE_TLS as the mock does.
# Healthy when the mock answers at all (below 500): /__admin/health is 200, or 404 with `--admin off`.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "const e=process.env,t=/^(1|true|yes|on)$/i.test(e.PROCODE_TLS||'')||!!e.PROCODE_TLS_CERT;require(t?'https':'http').get({host:'127.0.0.1',port:e.PROCODE_PORT||e.PORT||4010,path:'/__admin/health',rejectUnauthorized:false,timeout:2500},r=>process.exit(r.statusCode<500?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
# node is PID 1: `serve` handles SIGTERM and SIGINT itself (graceful stop, exit 0), and `contract`
# stops at once on either (exit 130), so no init process is needed.
ENTRYPOINT ["node", "/app/dist/mock/cli.js"]
CMD ["serve"]

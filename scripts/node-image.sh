#!/usr/bin/env bash
# The image's Node.js, for what must run on it outside Docker: .ci/run's second test pass and the
# stand-in base of `npm run docker:verify`. One source: the Dockerfile's FROM lines (every stage names
# the same pinned image; test/unit/runtime.test.ts checks that they, package.json's engines and the
# README agree).
#
#   bash scripts/node-image.sh ref          node:26.10.0-bookworm-slim@sha256:...   (the FROM image)
#   bash scripts/node-image.sh version      26.10.0
#   bash scripts/node-image.sh npm          11.19.1: the npm that this Node.js release bundles, as the image has
#   bash scripts/node-image.sh install      Node.js <version> from the npm registry (package
#                                           node-linux-<arch>, with bin/node inside), once, into a cache
#                                           outside the repository; prints the folder holding `node`
#   bash scripts/node-image.sh install-npm  npm <npm> from the npm registry, the same way; prints the npm
#                                           package's folder (bin/npm-cli.js inside)
#
# Cache: $PROCODE_NODE_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/procode-mock (about 210 MB a version).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

die() {
  echo "node-image: $*" >&2
  exit 1
}

# The npm each Node.js release bundles (its changelog's last "deps: upgrade npm to" at or before that
# release; 26.8.2 brought 11.19.1). Bumping the FROM version needs a line here: nothing else knows it.
npm_of() {
  case "$1" in
    26.10.0) echo 11.19.1 ;;
    *) return 1 ;;
  esac
}

image_ref() {
  local refs
  refs="$(awk 'toupper($1) == "FROM" { print $2 }' "$ROOT/Dockerfile" | sort -u)"
  [ -n "$refs" ] || die "no FROM in the Dockerfile"
  [ "$(printf '%s\n' "$refs" | wc -l)" -eq 1 ] || die "the Dockerfile's stages start FROM different images: $(echo $refs)"
  printf '%s\n' "$refs"
}

image_version() {
  local ref version
  ref="$(image_ref)"
  # node:<x.y.z>-<debian>-slim@sha256:<digest>, with or without docker.io/library/
  version="$(printf '%s' "$ref" | sed -nE 's#^(docker\.io/library/)?node:([0-9]+\.[0-9]+\.[0-9]+)-[a-z]+(-slim)?@sha256:[0-9a-f]{64}$#\2#p')"
  [ -n "$version" ] || die "the FROM image is not node:<x.y.z>-<debian>[-slim]@sha256:<digest>: $ref"
  printf '%s\n' "$version"
}

cache_dir() { printf '%s\n' "${PROCODE_NODE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/procode-mock}"; }

# install <package> <version>: once per version (a finished folder has .complete); prints the package folder.
install_pkg() {
  local pkg="$1" version="$2" dir tmp
  dir="$(cache_dir)/$pkg-$version"
  if [ ! -f "$dir/.complete" ]; then
    mkdir -p "$(dirname "$dir")"
    tmp="$(mktemp -d "$dir.XXXXXX")"
    echo "node-image: installing $pkg@$version from the npm registry into $dir" >&2
    npm install --prefix "$tmp" "$pkg@$version" --no-save --no-package-lock --no-audit --no-fund \
      --ignore-scripts --loglevel=error >&2 || {
      rm -rf "$tmp"
      die "npm install $pkg@$version failed"
    }
    touch "$tmp/.complete"
    # Another run may have finished first: keep whichever folder landed.
    if ! mv -T "$tmp" "$dir" 2>/dev/null; then rm -rf "$tmp"; fi
    [ -f "$dir/.complete" ] || die "could not place $dir"
  fi
  printf '%s\n' "$dir/node_modules/$pkg"
}

case "${1:-}" in
  ref) image_ref ;;
  version) image_version ;;
  npm)
    v="$(image_version)"
    npm_of "$v" || die "which npm Node.js $v bundles is not recorded: add it to npm_of in scripts/node-image.sh"
    ;;
  install)
    v="$(image_version)"
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64) arch=arm64 ;;
      *) die "no node-linux-* package for $(uname -m)" ;;
    esac
    pkg="$(install_pkg "node-linux-$arch" "$v")"
    got="$("$pkg/bin/node" --version)" || die "$pkg/bin/node does not run here"
    [ "$got" = "v$v" ] || die "$pkg/bin/node is $got, not v$v"
    printf '%s\n' "$pkg/bin"
    ;;
  install-npm)
    v="$(image_version)"
    n="$(npm_of "$v")" || die "which npm Node.js $v bundles is not recorded: add it to npm_of in scripts/node-image.sh"
    pkg="$(install_pkg npm "$n")"
    [ -f "$pkg/bin/npm-cli.js" ] || die "$pkg has no bin/npm-cli.js"
    printf '%s\n' "$pkg"
    ;;
  *) die "usage: bash scripts/node-image.sh ref|version|npm|install|install-npm" ;;
esac

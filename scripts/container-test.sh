#!/usr/bin/env bash
# The container action in a real Docker engine: installs Debian's docker.io
# when missing, starts a private dockerd, builds the two base images the
# Dockerfile names as local stand-ins (registries are out of reach here),
# builds the project's Dockerfile with BuildKit (and checks that the legacy
# builder refuses it, as the Dockerfile says), then runs the phases the way the runner runs them
# (internal/shipcheck's TestContainer*) and measures what a container costs
# (go run ./internal/bench -container).
#
#   sudo bash scripts/container-test.sh            # all of it, by hand (root, Linux)
#   source scripts/container-test.sh; ctr_setup    # what .ci/services/docker.sh does
#
# Cached between runs on the same machine under $TOKENMINT_CI_CACHE
# (default /var/cache/tokenmint-ci): the debootstrapped root filesystem
# (a tarball) and the engine's data root (so the stand-ins and BuildKit's
# layer cache survive). docker.lock there serialises concurrent runs.
#
# Exports for the tests: TOKENMINT_TEST_DOCKER (the client binary),
# DOCKER_HOST (the private engine), TOKENMINT_TEST_DOCKER_IMAGE (the image).

ctr_cache=${TOKENMINT_CI_CACHE:-/var/cache/tokenmint-ci}
ctr_mirror=${TOKENMINT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Debian's docker client (20.10) has BuildKit built in. A newer docker CLI
# without the buildx plugin may be first on PATH, so the one apt installed
# is called by its full path.
ctr_docker=/usr/bin/docker
ctr_dockerd=/usr/sbin/dockerd
ctr_image=tokenmint:ci
# Bump to rebuild the cached root filesystem.
ctr_rootfs_version=bookworm-minbase-1

ctr_now() { date +%s.%N; }
ctr_since() { awk -v a="$1" -v b="$(ctr_now)" 'BEGIN { printf "%.1f s", b - a }'; }
ctr_log() { echo "-- container: $*"; }

# ctr_install installs the engine and debootstrap when missing (idempotent;
# seconds when everything is there).
ctr_install() {
  local t missing=()
  t=$(ctr_now)
  [ -x "$ctr_dockerd" ] && [ -x "$ctr_docker" ] || missing+=(docker.io)
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    ctr_log "installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  ctr_log "install: $(ctr_since "$t") (${missing[*]:-nothing missing})"
}

# ctr_start starts a private dockerd (its own socket, exec root and data
# root, so it never meets another engine on the machine). No iptables and
# no bridge: this machine has neither, so containers and builds use the
# host's network (--network host).
ctr_start() {
  local t i
  t=$(ctr_now)
  mkdir -p "$ctr_cache"
  exec {ctr_lock_fd}>"$ctr_cache/docker.lock"
  if ! flock -w 900 "$ctr_lock_fd"; then
    echo "container: $ctr_cache/docker.lock is held by another run for 15 minutes" >&2
    return 1
  fi
  ctr_run=$(mktemp -d /run/tokenmint-ci.XXXXXX)
  export DOCKER_HOST="unix://$ctr_run/docker.sock"
  "$ctr_dockerd" --host "$DOCKER_HOST" --data-root "$ctr_cache/docker" --exec-root "$ctr_run/exec" \
    --pidfile "$ctr_run/dockerd.pid" --storage-driver overlay2 --iptables=false --ip6tables=false \
    --bridge=none >"$ctr_run/dockerd.log" 2>&1 &
  ctr_dockerd_pid=$!
  for i in $(seq 300); do
    "$ctr_docker" version >/dev/null 2>&1 && break
    if ! kill -0 "$ctr_dockerd_pid" 2>/dev/null || [ "$i" = 300 ]; then
      echo "container: dockerd did not start:" >&2
      tail -n 30 "$ctr_run/dockerd.log" >&2
      return 1
    fi
    sleep 0.1
  done
  ctr_log "engine start: $(ctr_since "$t") ($("$ctr_docker" version --format 'server {{.Server.Version}}, client {{.Client.Version}}'))"
}

# ctr_stop stops the engine ctr_start started (by its pid) and releases the lock.
ctr_stop() {
  if [ -n "${ctr_dockerd_pid:-}" ]; then
    kill "$ctr_dockerd_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$ctr_dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$ctr_dockerd_pid" 2>/dev/null || true
    ctr_dockerd_pid=
  fi
  if [ -n "${ctr_run:-}" ] && [ -d "$ctr_run" ]; then
    umount "$ctr_run/exec/netns/default" 2>/dev/null || true
    rm -rf "$ctr_run" 2>/dev/null || true
  fi
  [ -n "${ctr_lock_fd:-}" ] && exec {ctr_lock_fd}>&-
  ctr_lock_fd=
  return 0
}

# ctr_rootfs makes (once) the Debian bookworm minbase root filesystem with
# Debian's CA bundle and tzdata, as a tarball in the cache.
ctr_rootfs() {
  local tar="$ctr_cache/$ctr_rootfs_version.tar" dir t
  [ -s "$tar" ] && return 0
  t=$(ctr_now)
  dir=$(mktemp -d "$ctr_cache/rootfs.XXXXXX")
  /usr/sbin/debootstrap --variant=minbase --include=ca-certificates,tzdata bookworm "$dir" "$ctr_mirror" >"$dir.log" 2>&1 || {
    tail -n 30 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; return 1
  }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  rm -rf "$dir" "$dir.log"
  ctr_log "debootstrap --variant=minbase bookworm: $(ctr_since "$t") ($(du -h "$tar" | cut -f1))"
}

# ctr_from_names prints the Dockerfile's base images (name:tag, digest dropped).
ctr_from_names() {
  sed -nE 's/^FROM (--platform=[^ ]+ )?([^ @]+)(@sha256:[0-9a-f]{64})?( AS .*)?$/\2/p' Dockerfile
}

# ctr_bases builds the stand-ins tagged with the Dockerfile's own names:
# the build stage's golang:…-bookworm (the rootfs plus this machine's Go
# toolchain, trusting this machine's CA bundle so that `go mod download`
# reaches the module proxy from here) and the final stage's distroless-like
# static base (Debian's CA bundle, passwd/group with root and nonroot,
# tzdata, /tmp; no shell, no package manager). The host's CA bundle goes
# into the build stand-in only.
ctr_bases() {
  local t build final goversion stage
  t=$(ctr_now)
  ctr_rootfs
  { read -r build; read -r final; } < <(ctr_from_names)
  goversion=$(/usr/local/go/bin/go env GOVERSION)
  case "$build" in
    golang:"${goversion#go}"-bookworm) ;;
    *) echo "container: the Dockerfile's build stage $build is not golang:${goversion#go}-bookworm, this machine's Go" >&2; return 1 ;;
  esac
  if ! "$ctr_docker" image inspect "$build" >/dev/null 2>&1; then
    # The rootfs, with Go and the host's CA bundle over it, as one layer.
    stage=$(mktemp -d "$ctr_cache/stage.XXXXXX")
    tar -C "$stage" -xf "$ctr_cache/$ctr_rootfs_version.tar"
    cp /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$stage/usr/local" "$stage/go"
    cp -a /usr/local/go "$stage/usr/local/go"
    rm -rf "$stage/usr/local/go/pkg/obj"
    tar -C "$stage" --numeric-owner -cf - . | "$ctr_docker" import \
      -c 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'ENV GOPATH=/go GOTOOLCHAIN=local' -c 'WORKDIR /go' -c 'CMD ["bash"]' \
      - "$build" >/dev/null
    rm -rf "$stage"
  fi
  if ! "$ctr_docker" image inspect "$final" >/dev/null 2>&1; then
    stage=$(mktemp -d "$ctr_cache/stage.XXXXXX")
    tar -C "$stage" -xf "$ctr_cache/$ctr_rootfs_version.tar" ./etc/ssl/certs/ca-certificates.crt ./usr/share/zoneinfo
    mkdir -p "$stage/tmp" "$stage/home/nonroot" "$stage/root"
    chmod 1777 "$stage/tmp"
    chmod 700 "$stage/root"
    chown 65532:65532 "$stage/home/nonroot"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$stage/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$stage/etc/group"
    printf 'hosts: files dns\n' >"$stage/etc/nsswitch.conf"
    tar -C "$stage" --numeric-owner -cf - . | "$ctr_docker" import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      - "$final" >/dev/null
    rm -rf "$stage"
  fi
  ctr_log "base stand-ins ($build, $final): $(ctr_since "$t")"
}

# ctr_build builds the project's Dockerfile with BuildKit, the @sha256
# pins dropped (the stand-ins have other digests; this local build only).
ctr_build() {
  local t df
  t=$(ctr_now)
  df=$(mktemp)
  sed -E 's/@sha256:[0-9a-f]{64}//' Dockerfile >"$df"
  DOCKER_BUILDKIT=1 "$ctr_docker" build --network host --progress plain -f "$df" -t "$ctr_image" \
    --build-arg VERSION=ci . >"$ctr_run/build.log" 2>&1 || { tail -n 40 "$ctr_run/build.log" >&2; rm -f "$df"; return 1; }
  rm -f "$df"
  ctr_log "image build (BuildKit): $(ctr_since "$t"), $("$ctr_docker" image inspect --format '{{.Size}}' "$ctr_image") bytes"
}

# ctr_build_legacy checks what the Dockerfile says of the legacy builder:
# it stops at FROM --platform=$BUILDPLATFORM at once, naming the platform.
ctr_build_legacy() {
  local t df
  t=$(ctr_now)
  df=$(mktemp)
  sed -E 's/@sha256:[0-9a-f]{64}//' Dockerfile >"$df"
  if DOCKER_BUILDKIT=0 "$ctr_docker" build --network host -q -f "$df" -t "$ctr_image-legacy" . >"$ctr_run/build-legacy.log" 2>&1; then
    echo "container: the legacy builder built the Dockerfile: its comment says it cannot, fix the comment" >&2
    rm -f "$df"; return 1
  fi
  rm -f "$df"
  if ! grep -q 'invalid component' "$ctr_run/build-legacy.log"; then
    echo "container: the legacy builder failed otherwise than the Dockerfile says:" >&2
    tail -n 20 "$ctr_run/build-legacy.log" >&2
    return 1
  fi
  ctr_log "legacy builder: refuses FROM --platform=\$BUILDPLATFORM, as the Dockerfile says ($(ctr_since "$t"))"
}

# ctr_setup is the whole set-up: engine, stand-ins, image; it exports what
# the tests read.
ctr_setup() {
  ctr_install
  ctr_start
  ctr_bases
  ctr_build
  export TOKENMINT_TEST_DOCKER="$ctr_docker" TOKENMINT_TEST_DOCKER_IMAGE="$ctr_image"
}

# ctr_setup_background runs ctr_setup beside the test suite (a cold
# debootstrap and image build take minutes, mostly waiting on dpkg and
# the module proxy); ctr_wait joins it. Both in the same shell.
ctr_setup_background() {
  ctr_bg_log=$(mktemp)
  ctr_bg_env=$(mktemp)
  (
    set -euo pipefail
    trap ctr_stop EXIT # a failed set-up leaves no engine behind
    ctr_setup
    printf 'export DOCKER_HOST=%q TOKENMINT_TEST_DOCKER=%q TOKENMINT_TEST_DOCKER_IMAGE=%q\nctr_dockerd_pid=%q ctr_run=%q\n' \
      "$DOCKER_HOST" "$TOKENMINT_TEST_DOCKER" "$TOKENMINT_TEST_DOCKER_IMAGE" "$ctr_dockerd_pid" "$ctr_run" >"$ctr_bg_env"
    # Keep the engine (a child of this subshell) until ctr_stop.
    wait "$ctr_dockerd_pid"
  ) >"$ctr_bg_log" 2>&1 &
  ctr_bg_pid=$!
}

# ctr_wait waits for ctr_setup_background's set-up and takes its exports.
ctr_wait() {
  while ! [ -s "$ctr_bg_env" ]; do
    if ! kill -0 "$ctr_bg_pid" 2>/dev/null; then
      cat "$ctr_bg_log" >&2
      echo "container: the set-up failed" >&2
      return 1
    fi
    sleep 0.5
  done
  cat "$ctr_bg_log"
  # shellcheck disable=SC1090
  source "$ctr_bg_env"
}

# ctr_stop_background stops the engine ctr_setup_background started.
ctr_stop_background() {
  [ -n "${ctr_bg_env:-}" ] && [ -s "$ctr_bg_env" ] && source "$ctr_bg_env"
  ctr_stop
  [ -n "${ctr_bg_pid:-}" ] && { kill "$ctr_bg_pid" 2>/dev/null || true; wait "$ctr_bg_pid" 2>/dev/null || true; }
  rm -f "${ctr_bg_log:-}" "${ctr_bg_env:-}"
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  export PATH="/usr/local/go/bin:$PATH"
  trap ctr_stop EXIT
  ctr_setup
  ctr_build_legacy
  go test -count=1 -run 'TestContainer' -v ./internal/shipcheck
  go run ./internal/bench -container "$ctr_image" -runs 21
fi

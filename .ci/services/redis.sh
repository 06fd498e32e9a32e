# shellcheck shell=bash
# Sourced by .ci/run: a real redis-server for the relay's tests
# (internal/relay: two replicas sharing one Redis, the Redis crash tests).
# Installs the Debian package when missing, starts it on 127.0.0.1 on a
# random free port with no persistence (its files stay in a temp dir),
# exports TOKENMINT_TEST_REDIS_URL and stops it on exit.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (Debian package)"
  redis_sudo=""
  [ "$(id -u)" -eq 0 ] || redis_sudo="sudo"
  if ! DEBIAN_FRONTEND=noninteractive $redis_sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1; then
    $redis_sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $redis_sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  fi
fi
redis-server --version
redis_dir=$(mktemp -d)
on_exit "rm -rf '$redis_dir'"
redis_url=""
for _ in 1 2 3 4 5 6 7 8; do
  redis_port=$((20000 + RANDOM % 40000))
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$redis_dir" --logfile "$redis_dir/redis.log" --daemonize no &
  redis_pid=$!
  for _ in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -qx PONG; then
      redis_url="redis://127.0.0.1:$redis_port/0"
      break 2
    fi
    kill -0 "$redis_pid" 2>/dev/null || break # exited: port taken, try another
    sleep 0.1
  done
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
done
if [ -z "$redis_url" ]; then
  echo "redis-server did not start:"; tail -n 20 "$redis_dir/redis.log" || true
  exit 1
fi
on_exit "kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null"
export TOKENMINT_TEST_REDIS_URL="$redis_url"
echo "redis-server on 127.0.0.1:$redis_port (TOKENMINT_TEST_REDIS_URL)"

package relay

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key the relay writes in Redis.
const DefaultRedisPrefix = "tokenmint:relay:"

// DefaultRedisTimeout bounds each Redis operation.
const DefaultRedisTimeout = 2 * time.Second

// redisStore shares the replay cache and the dispatched-target records of
// several replicas through one Redis. Each operation is one round trip (a
// Lua script runs atomically on the server), so two replicas can never both
// claim a delivery.
//
// Keys (hash-tagged by the delivery's primary key, so a script touches one
// cluster slot): PREFIX{P}:k:<hex key> holds "done" or "c:<token>" (a
// claim), PREFIX{P}:t holds the set of dispatched targets.
type redisStore struct {
	rdb     *redis.Client
	prefix  string
	timeout time.Duration
}

// ParseRedisURL checks a redis:// or rediss:// URL and returns go-redis
// options. The error never repeats the URL (it may hold a password).
func ParseRedisURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return nil, errors.New("must be redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://… (TLS)")
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, errors.New("must be redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://… (TLS); the URL does not parse")
	}
	return opts, nil
}

// redisHasPassword reports whether raw carries credentials (a password,
// or a user part that older clients read as one), which must come from
// the environment, not a flag.
func redisHasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok || u.User.Username() != ""
}

// redisAddr is the URL's host:port for logs (never the password).
func redisAddr(opts *redis.Options) string { return opts.Addr }

func newRedisStore(opts *redis.Options, prefix string, poolSize int, timeout time.Duration) *redisStore {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	o := *opts
	if o.PoolSize < poolSize {
		o.PoolSize = poolSize
	}
	if o.DialTimeout <= 0 || o.DialTimeout > timeout {
		o.DialTimeout = timeout
	}
	o.ReadTimeout, o.WriteTimeout = timeout, timeout
	o.PoolTimeout = timeout
	o.MaxRetries = 1
	// The relay's own lines say what failed; go-redis' logger would print
	// to stderr outside the JSON log.
	o.DisableIdentity = true
	return &redisStore{rdb: redis.NewClient(&o), prefix: prefix, timeout: timeout}
}

// ping checks that Redis answers (at startup).
func (s *redisStore) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return &StoreError{Op: "reach Redis", Err: err}
	}
	return nil
}

func (s *redisStore) keys(d deliveryRef) []string {
	tag := s.prefix + "{" + hex.EncodeToString(d.primary[:]) + "}:"
	out := make([]string, 0, len(d.keys)+1)
	for _, k := range d.keys {
		out = append(out, tag+"k:"+hex.EncodeToString(k[:]))
	}
	return append(out, tag+"t")
}

func ms(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }

// claimScript: KEYS = state keys…, targets key; ARGV = token, ttl ms.
var claimScript = redis.NewScript(`
local n = #KEYS - 1
local busy = false
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v == 'done' then return {'replay'} end
  if v then busy = true end
end
if busy then return {'busy'} end
for i = 1, n do redis.call('SET', KEYS[i], 'c:' .. ARGV[1], 'PX', ARGV[2]) end
local t = redis.call('SMEMBERS', KEYS[n + 1])
table.insert(t, 1, 'ok')
return t
`)

// finishScript: KEYS = state keys…, targets key; ARGV = ttl ms.
var finishScript = redis.NewScript(`
local n = #KEYS - 1
for i = 1, n do redis.call('SET', KEYS[i], 'done', 'PX', ARGV[1]) end
redis.call('DEL', KEYS[n + 1])
return 1
`)

// releaseScript: KEYS = state keys…; ARGV = token. Only our own claim goes.
var releaseScript = redis.NewScript(`
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == 'c:' .. ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
`)

func (s *redisStore) claim(ctx context.Context, d deliveryRef, token string, _ time.Time, ttl time.Duration) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := claimScript.Run(ctx, s.rdb, s.keys(d), token, ms(ttl)).StringSlice()
	if err != nil {
		return nil, &StoreError{Op: "claim the delivery", Err: err}
	}
	if len(res) == 0 {
		return nil, &StoreError{Op: "claim the delivery", Err: errors.New("empty answer")}
	}
	switch res[0] {
	case "replay":
		return nil, errReplay
	case "busy":
		return nil, errBusy
	case "ok":
	default:
		return nil, &StoreError{Op: "claim the delivery", Err: fmt.Errorf("unexpected answer %q", res[0])}
	}
	done := make(map[string]bool, len(res)-1)
	for _, t := range res[1:] {
		done[t] = true
	}
	return done, nil
}

func (s *redisStore) markDispatched(ctx context.Context, d deliveryRef, target string, now, expiry time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := s.keys(d)
	tk := keys[len(keys)-1]
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, tk, target)
		p.PExpire(ctx, tk, expiry.Sub(now))
		return nil
	})
	if err != nil {
		return &StoreError{Op: "record a dispatch", Err: err}
	}
	return nil
}

func (s *redisStore) finish(ctx context.Context, d deliveryRef, _ string, now, expiry time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := finishScript.Run(ctx, s.rdb, s.keys(d), ms(expiry.Sub(now))).Err(); err != nil {
		return &StoreError{Op: "record the delivery", Err: err}
	}
	return nil
}

func (s *redisStore) release(ctx context.Context, d deliveryRef, token string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := s.keys(d)
	if err := releaseScript.Run(ctx, s.rdb, keys[:len(keys)-1], token).Err(); err != nil {
		return &StoreError{Op: "release the delivery", Err: err}
	}
	return nil
}

func (s *redisStore) close() error {
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("failed to close the Redis client: %w", err)
	}
	return nil
}

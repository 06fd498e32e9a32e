package relay

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvTestRedisURL is where .ci/services/redis.sh tells the tests its
// redis-server listens.
const EnvTestRedisURL = "TOKENMINT_TEST_REDIS_URL"

// testRedis returns the URL of a real redis-server and a key prefix of the
// test's own (tests share the server): TOKENMINT_TEST_REDIS_URL when set,
// else a redis-server this test starts on a free 127.0.0.1 port. Without
// either the test is skipped, or fails under CI.
func testRedis(t testing.TB) (url, prefix string) {
	t.Helper()
	prefix = fmt.Sprintf("tokenmint-test:%s:%s:", strings.ReplaceAll(t.Name(), "/", "."), newToken()[:8])
	if u := os.Getenv(EnvTestRedisURL); u != "" {
		return u, prefix
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not installed and %s is not set (.ci/services/redis.sh provides it)", EnvTestRedisURL)
		}
		t.Skipf("needs redis-server (apt-get install redis-server) or %s", EnvTestRedisURL)
	}
	return startRedisServer(t, bin), prefix
}

// startRedisServer runs redis-server on a free port with no persistence
// and stops it at the end of the test.
func startRedisServer(t testing.TB, bin string) string {
	t.Helper()
	dir := t.TempDir()
	for try := 0; ; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no")
		if err := cmd.Start(); err != nil {
			t.Fatalf("failed to start redis-server: %v", err)
		}
		url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		if waitRedis(url, 5*time.Second) == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			})
			return url
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if try == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not answer on port %d:\n%s", port, lastLines(string(log), 10))
		}
	}
}

func waitRedis(url string, within time.Duration) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

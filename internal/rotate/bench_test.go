package rotate

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenmint/tokenmint/internal/ghsecret"
)

// BenchmarkRotate200 rotates 200 repository secrets against the fake with
// no pause. Reported: requests sent per rotation against the floor (one
// key read and one PUT per target; no ID lookups for repository secrets),
// and the process's peak RSS (VmHWM). Run alone for a meaningful RSS:
//
//	go test -run '^$' -bench BenchmarkRotate200 -benchmem ./internal/rotate/
func BenchmarkRotate200(b *testing.B) {
	e := newEnv(b)
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("repo-%03d", i)
	}
	targets := repoTargets(b, e, names...)
	floor := int64(2 * len(targets))
	var sent int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := e.config(b, targets) // a fresh Writer: keys are read once per run
		w := cfg.Writer.(*ghsecret.Writer)
		res, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatalf("Run: %v", err)
		}
		if res.Written() != len(targets) {
			b.Fatalf("written %d of %d", res.Written(), len(targets))
		}
		sent += w.Requests().Total
	}
	b.StopTimer()
	b.ReportMetric(float64(sent)/float64(b.N), "requests/op")
	b.ReportMetric(float64(floor), "floor/op")
	if kb, ok := vmHWM(); ok {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MiB")
	}
	if got := float64(sent) / float64(b.N); got != float64(floor) {
		b.Errorf("sent %.1f requests per rotation, floor is %d", got, floor)
	}
}

// vmHWM reads the peak resident set size (KiB) from /proc/self/status.
func vmHWM() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

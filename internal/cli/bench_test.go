//go:build unix

package cli

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"testing"
	"time"

	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

// BenchmarkExecOverhead runs COMMAND bare and under a real `tokenmint
// exec` process (this test binary as the CLI, a fake Tooken on loopback),
// alternating, once each per iteration, and reports the medians and the
// ratios of wall time and CPU (user+system of the process and the children
// it waited for). Run with -benchtime=20x for a median of 20.
//
//	go test -run XXX -bench ExecOverhead -benchtime 20x ./internal/cli/
func BenchmarkExecOverhead(b *testing.B) {
	commands := map[string][]string{
		"true":        {"/bin/true"},
		"print_6.7MB": {"/bin/sh", "-c", "head -c 5000000 /dev/zero | base64"},
	}
	for name, command := range commands {
		b.Run(name, func(b *testing.B) {
			f := faketooken.New(testKey, nil)
			srv := httptest.NewServer(f)
			defer srv.Close()
			env := append(os.Environ(), "TOKENMINT_TEST_CLI_MAIN=1", "TOKENMINT_ADMIN_KEY="+testKey,
				"TOKENMINT_PROVIDER=tooken", "TOKENMINT_API_URL="+srv.URL+"/v1")
			under := append([]string{"exec", "--scopes", "tokens:read", "--export-env", "T", "--"}, command...)
			var bareWall, bareCPU, execWall, execCPU []float64
			measure := func(path string, args []string, wall, cpu *[]float64) {
				cmd := exec.Command(path, args...)
				cmd.Env = env
				devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				defer devnull.Close()
				cmd.Stdout, cmd.Stderr = devnull, devnull
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s %v: %v", path, args, err)
				}
				*wall = append(*wall, float64(time.Since(start).Microseconds())/1000)
				st := cmd.ProcessState
				*cpu = append(*cpu, float64((st.UserTime()+st.SystemTime()).Microseconds())/1000)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				measure(command[0], command[1:], &bareWall, &bareCPU)
				measure(os.Args[0], under, &execWall, &execCPU)
			}
			b.StopTimer()
			if n := len(f.Store.Live()); n != 0 {
				b.Fatalf("%d tokens left live", n)
			}
			bw, bc, ew, ec := median(bareWall), median(bareCPU), median(execWall), median(execCPU)
			b.ReportMetric(bw, "bare-wall-ms")
			b.ReportMetric(ew, "exec-wall-ms")
			b.ReportMetric(bc, "bare-cpu-ms")
			b.ReportMetric(ec, "exec-cpu-ms")
			if bw > 0 {
				b.ReportMetric(ew/bw, "wall-ratio")
			}
			if bc > 0 {
				b.ReportMetric(ec/bc, "cpu-ratio")
			}
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

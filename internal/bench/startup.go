package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// helloSource is the floor every Go process pays: a hello-world built
// with the same toolchain and flags as tokenmint.
const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// BuildHello compiles the hello-world into dir/hello (its own module, so
// nothing of tokenmint's is linked).
func BuildHello(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "hello-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(helloSource), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build the hello-world: %w\n%s", err, b)
	}
	return out, nil
}

// runProcess runs argv with env and returns its wall and CPU time.
func runProcess(ctx context.Context, env []string, argv ...string) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("failed to run %s: %w\n%s", filepath.Base(argv[0]), err, out)
	}
	ps := cmd.ProcessState
	return Sample{Wall: wall, CPU: ps.UserTime() + ps.SystemTime()}, nil
}

// Startup compares `tokenmint version` with the hello-world, interleaved
// run by run so that both see the same machine load.
func Startup(ctx context.Context, tokenmint, hello string, runs int) (tm, hw Summary, err error) {
	env := []string{"PATH=/usr/bin:/bin"}
	var tms, hws []Sample
	for range runs {
		h, err := runProcess(ctx, env, hello)
		if err != nil {
			return tm, hw, err
		}
		v, err := runProcess(ctx, env, tokenmint, "version")
		if err != nil {
			return tm, hw, err
		}
		hws, tms = append(hws, h), append(tms, v)
	}
	return Summarize(tms), Summarize(hws), nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Container runs the phases in the image the way the runner does (docker
// run --rm --workdir /github/workspace, the runner's mounts, -e NAME for
// every INPUT_*/GITHUB_*/STATE_* variable with the value in the client's
// environment, --entrypoint /entrypoint/main|post). Its floor is the same
// image and the same docker run running a no-op (the hello-world, mounted
// in as /noop): what any container action costs. The engine runs without
// a bridge on the CI machine, so containers use --network host to reach
// the fakes on 127.0.0.1.
type Container struct {
	Docker, Image string
	Noop          string // host path of the no-op binary
}

// mounts maps the runner's container paths to a job's directories.
func (c Container) mounts(j *Job) [][2]string {
	return [][2]string{
		{filepath.Join(j.Dir, "workspace"), "/github/workspace"},
		{filepath.Join(j.Dir, "home"), "/github/home"},
		{filepath.Join(j.Dir, "workflow"), "/github/workflow"},
		{j.Dir, "/github/file_commands"},
		{filepath.Join(j.Dir, "tmp"), "/github/runner_temp"},
	}
}

// Run runs entry ("/entrypoint/main", "/entrypoint/post" or "/noop") in a
// container for job j and reads the file-command files back.
func (c Container) Run(ctx context.Context, j *Job, entry string, state map[string]string) (Sample, error) {
	for _, d := range []string{"home", "workflow", "tmp"} {
		if err := os.MkdirAll(filepath.Join(j.Dir, d), 0o755); err != nil {
			return Sample{}, err
		}
	}
	// The job's host paths become the container's.
	repl := strings.NewReplacer(filepath.Join(j.Dir, "workspace"), "/github/workspace", j.Dir, "/github/file_commands")
	env := map[string]string{}
	for _, kv := range j.environ(state) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = repl.Replace(v)
	}
	env["HOME"], env["RUNNER_TEMP"] = "/github/home", "/github/runner_temp"
	delete(env, "PATH") // the image's own
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range env {
			if !yield(k) {
				return
			}
		}
	})
	args := []string{"run", "--rm", "--network", "host", "--workdir", "/github/workspace"}
	for _, m := range c.mounts(j) {
		args = append(args, "-v", m[0]+":"+m[1])
	}
	if entry == "/noop" {
		args = append(args, "-v", c.Noop+":/noop:ro")
	}
	for _, k := range names {
		args = append(args, "-e", k)
	}
	args = append(args, "--entrypoint", entry, c.Image)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Docker, args...)
	cmd.Env = os.Environ()
	for _, k := range names {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("failed to run %s in a container: %w\n%s", entry, err, out)
	}
	if entry == "/noop" {
		return Sample{Wall: wall}, nil
	}
	return Sample{Wall: wall}, j.readBack()
}

// ContainerCost is the container runs' figures.
type ContainerCost struct {
	Image            string
	ImageBytes       int64
	Runs             int
	Noop, Main, Post Summary
	// MainRatio and PostRatio are the medians over runs of each run's
	// phase wall time over the same run's no-op: the machine's load
	// drifts, and a run's three containers see about the same.
	MainRatio, PostRatio float64
}

// imageSize is the image's size as the engine reports it.
func (c Container) imageSize(ctx context.Context) (int64, error) {
	out, err := exec.CommandContext(ctx, c.Docker, "image", "inspect", "--format", "{{.Size}}", c.Image).Output()
	if err != nil {
		return 0, fmt.Errorf("failed to inspect %s: %w", c.Image, err)
	}
	var n int64
	_, err = fmt.Sscan(strings.TrimSpace(string(out)), &n)
	return n, err
}

// runContainers runs the no-op, main and post in containers, interleaved,
// runs times each, against the fakes (inputs, extraEnv as for the bare
// runs; the CA file is copied into each job's workspace).
func runContainers(ctx context.Context, c Container, dir string, inputs map[string]string, extraEnv []string, runs int) (*ContainerCost, error) {
	size, err := c.imageSize(ctx)
	if err != nil {
		return nil, err
	}
	var noop, mains, posts []Sample
	for i := range runs {
		j, err := NewJob(filepath.Join(dir, fmt.Sprintf("container-%d", i)), inputs, 500+i)
		if err != nil {
			return nil, err
		}
		for _, kv := range extraEnv {
			k, v, _ := strings.Cut(kv, "=")
			if k == "SSL_CERT_FILE" {
				data, err := os.ReadFile(v)
				if err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(j.Dir, "workspace", "ca.pem"), data, 0o644); err != nil {
					return nil, err
				}
				v = "/github/workspace/ca.pem"
			}
			if k == "SSL_CERT_DIR" {
				v = imageCertDir
			}
			j.Env = append(j.Env, k+"="+v)
		}
		n, err := c.Run(ctx, j, "/noop", nil)
		if err != nil {
			return nil, err
		}
		m, err := c.Run(ctx, j, "/entrypoint/main", nil)
		if err != nil {
			return nil, err
		}
		if j.Outputs["token"] == "" {
			return nil, fmt.Errorf("main in a container, run %d: no token output", i)
		}
		p, err := c.Run(ctx, j, "/entrypoint/post", j.State)
		if err != nil {
			return nil, err
		}
		noop, mains, posts = append(noop, n), append(mains, m), append(posts, p)
	}
	cc := &ContainerCost{Image: c.Image, ImageBytes: size, Runs: runs, Noop: Summarize(noop), Main: Summarize(mains), Post: Summarize(posts)}
	cc.MainRatio, cc.PostRatio = pairedRatio(mains, noop), pairedRatio(posts, noop)
	return cc, nil
}

// pairedRatio is the median of a[i]/b[i] (wall times).
func pairedRatio(a, b []Sample) float64 {
	qs := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		qs = append(qs, ratio(a[i].Wall, b[i].Wall))
	}
	slices.Sort(qs)
	switch n := len(qs); {
	case n == 0:
		return 0
	case n%2 == 1:
		return qs[n/2]
	default:
		return (qs[n/2-1] + qs[n/2]) / 2
	}
}

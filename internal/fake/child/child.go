//go:build unix

// Package child turns a test binary into the COMMAND of an exec test: a
// test's TestMain calls Main first, and the test runs its own binary
// (os.Args[0]) with Env() added to the environment and a mode as the
// arguments:
//
//	exit N                 exit with status N
//	ran N                  say "ran" on stdout, then exit N (TERM: end by SIGTERM)
//	kill SIG               end by signal SIG (TERM, INT, HUP, KILL)
//	print VAR              print the value of $VAR raw, base64, URL-encoded,
//	                       split across two writes, and inside a 200 KB line
//	                       without newline, on stdout and stderr
//	cat-file VAR           print the contents of the file named by $VAR
//	env VAR…               print VAR=value (or VAR unset) per variable
//	wait-signal FILE       say "ready" on stdout, wait for SIGTERM, SIGINT
//	                       or SIGHUP, write its name to FILE, then end by it
package child

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const envVar = "TOKENMINT_FAKE_CHILD"

// Env is the variable that makes Main take over.
func Env() string { return envVar + "=1" }

var signals = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP, "KILL": syscall.SIGKILL}

// Main runs the child mode when the environment asks for it and never
// returns then; otherwise it returns at once.
func Main() {
	if os.Getenv(envVar) != "1" {
		return
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "child: no mode")
		return 100
	}
	switch args[0] {
	case "exit":
		n, _ := strconv.Atoi(args[1])
		return n
	case "ran":
		fmt.Println("ran")
		if args[1] == "TERM" {
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			time.Sleep(10 * time.Second)
			return 101
		}
		n, _ := strconv.Atoi(args[1])
		return n
	case "kill":
		_ = syscall.Kill(os.Getpid(), signals[args[1]])
		time.Sleep(10 * time.Second)
		return 101
	case "print":
		v := os.Getenv(args[1])
		for _, w := range []*os.File{os.Stdout, os.Stderr} {
			fmt.Fprintf(w, "raw %s\n", v)
			fmt.Fprintf(w, "base64 %s\n", base64.StdEncoding.EncodeToString([]byte(v)))
			fmt.Fprintf(w, "base64url %s\n", base64.RawURLEncoding.EncodeToString([]byte(v)))
			fmt.Fprintf(w, "url %s\n", url.QueryEscape(v))
			half := len(v) / 2
			fmt.Fprintf(w, "split %s", v[:half])
			_ = w.Sync()
			time.Sleep(20 * time.Millisecond)
			fmt.Fprintf(w, "%s end\n", v[half:])
			fmt.Fprintf(w, "%s%s%s", strings.Repeat("x", 100_000), v, strings.Repeat("y", 100_000))
			fmt.Fprintln(w)
			fmt.Fprintf(w, "embedded %s\n", base64.StdEncoding.EncodeToString([]byte("{\"k\":\""+v+"\"}")))
		}
		return 0
	case "cat-file":
		b, err := os.ReadFile(os.Getenv(args[1]))
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 102
		}
		st, _ := os.Stat(os.Getenv(args[1]))
		fmt.Printf("mode %o\n%s\n", st.Mode().Perm(), b)
		return 0
	case "env":
		for _, k := range args[1:] {
			if v, ok := os.LookupEnv(k); ok {
				fmt.Printf("%s=%s\n", k, v)
			} else {
				fmt.Printf("%s unset\n", k)
			}
		}
		return 0
	case "wait-signal":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		fmt.Println("ready")
		select {
		case sig := <-ch:
			_ = os.WriteFile(args[1], []byte(sig.String()), 0o600)
			signal.Reset()
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			time.Sleep(10 * time.Second)
			return 103
		case <-time.After(60 * time.Second):
			return 104
		}
	}
	fmt.Fprintln(os.Stderr, "child: unknown mode", args[0])
	return 100
}

// Package execrun runs the COMMAND of `tokenmint exec`: it starts it,
// forwards the signals tokenmint receives to it, waits for it and turns
// how it ended into an exit status.
//
// Invariants:
//   - Every signal received on Spec.Signals while COMMAND runs is sent to
//     it: to its whole process group when it runs in a group of its own
//     (Spec.NewGroup), so a shell's children get it too.
//   - Run returns only after COMMAND has ended and its output was copied
//     (bounded by WaitDelay when a background child keeps the pipes open).
//   - The status is COMMAND's exit code, or 128+n when signal n ended it,
//     as POSIX shells report it.
package execrun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Spec is what to run.
type Spec struct {
	Args   []string // COMMAND and its arguments; Args[0] is looked up in PATH
	Env    []string // the whole environment of COMMAND
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Signals are forwarded to COMMAND while it runs.
	Signals <-chan os.Signal
	// NewGroup starts COMMAND in a process group of its own and signals
	// the group. Leave it off when COMMAND reads a terminal: a background
	// group cannot.
	NewGroup bool
	// WaitDelay bounds the wait for output after COMMAND exited (default
	// 5s): a background process it left may hold the pipes open.
	WaitDelay time.Duration
	// Started is called once COMMAND runs (tests). May be nil.
	Started func(pid int)
}

// Result is how COMMAND ended.
type Result struct {
	// Code is the exit status: COMMAND's, or 128+n for signal n.
	Code int
	// Signal is the signal that ended COMMAND (0 when it exited).
	Signal syscall.Signal
	// Forwarded lists the signals that were sent to COMMAND.
	Forwarded []os.Signal
}

// StartError is a COMMAND that could not be started (not found, not
// executable). The CLI exits 127 or 126 for it, as shells do.
type StartError struct {
	Command string
	Err     error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("failed to start %s: %v", e.Command, e.Err)
}
func (e *StartError) Unwrap() error { return e.Err }

// Code is the shell's status for a command that did not start.
func (e *StartError) Code() int {
	if errors.Is(e.Err, exec.ErrNotFound) || errors.Is(e.Err, os.ErrNotExist) {
		return 127
	}
	return 126
}

// Run starts COMMAND, forwards signals until it ends and returns how it
// ended.
func Run(s Spec) (Result, error) {
	if len(s.Args) == 0 {
		return Result{}, errors.New("failed to run: no command")
	}
	cmd := exec.Command(s.Args[0], s.Args[1:]...) //nolint:gosec,noctx // running the user's COMMAND is the point of exec; it ends by the signals forwarded to it, never by a context, so that it is revoked after it ended
	if cmd.Err != nil {
		return Result{}, &StartError{Command: s.Args[0], Err: cmd.Err}
	}
	cmd.Env = s.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
	cmd.WaitDelay = s.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	if s.NewGroup {
		cmd.SysProcAttr = newGroupAttr()
	}
	if err := cmd.Start(); err != nil {
		return Result{}, &StartError{Command: s.Args[0], Err: err}
	}
	if s.Started != nil {
		s.Started(cmd.Process.Pid)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var res Result
	var waitErr error
loop:
	for {
		select {
		case sig := <-s.Signals:
			res.Forwarded = append(res.Forwarded, sig)
			forward(cmd.Process, sig, s.NewGroup)
		case waitErr = <-done:
			break loop
		}
	}
	st := cmd.ProcessState
	if st == nil {
		return res, fmt.Errorf("failed to wait for %s: %w", s.Args[0], waitErr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal()
		res.Code = 128 + int(ws.Signal())
		return res, nil
	}
	res.Code = st.ExitCode()
	// ErrWaitDelay: COMMAND exited but a process it left held the output
	// open; the status is still COMMAND's.
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return res, fmt.Errorf("failed to copy the output of %s: %w", s.Args[0], waitErr)
	}
	return res, nil
}

func forward(p *os.Process, sig os.Signal, group bool) {
	if group && signalGroup(p.Pid, sig) {
		return
	}
	_ = p.Signal(sig)
}

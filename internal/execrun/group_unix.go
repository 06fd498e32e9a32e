//go:build unix

package execrun

import (
	"os"
	"syscall"
)

// newGroupAttr starts COMMAND in a process group of its own.
func newGroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to the process group pid leads. The group may be
// gone already; nothing to do then.
func signalGroup(pid int, sig os.Signal) bool {
	ss, ok := sig.(syscall.Signal)
	if !ok {
		return false
	}
	_ = syscall.Kill(-pid, ss)
	return true
}

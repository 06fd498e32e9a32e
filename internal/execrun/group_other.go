//go:build !unix

package execrun

import (
	"os"
	"syscall"
)

// newGroupAttr: no process groups here; COMMAND is signalled alone.
func newGroupAttr() *syscall.SysProcAttr { return nil }

func signalGroup(int, os.Signal) bool { return false }

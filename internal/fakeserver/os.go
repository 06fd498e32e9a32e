package fakeserver

import "os"

var (
	osWriteFile = func(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
	osRename    = os.Rename
)

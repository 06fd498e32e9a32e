package fakeserver

import "os"

var (
	osWriteFile = os.WriteFile
	osRename    = os.Rename
)

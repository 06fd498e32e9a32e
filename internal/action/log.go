package action

import (
	"bytes"
	"io"
	"sync"

	"github.com/tokenmint/tokenmint/internal/redact"
)

// maskingWriter passes every line through the masker, except the runner's
// own ::add-mask:: commands (which must carry the value to mask). It is the
// last line of defence: callers already keep secrets out of messages.
type maskingWriter struct {
	mu sync.Mutex
	w  io.Writer
	m  *redact.Masker
}

var addMask = []byte("::add-mask::")

func (mw *maskingWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	var out []byte
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, addMask) {
			out = append(out, line...)
			continue
		}
		out = append(out, mw.m.Mask(string(line))...)
	}
	if _, err := mw.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

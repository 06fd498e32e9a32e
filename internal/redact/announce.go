package redact

import (
	"strings"
	"sync"
)

// Announcer tells the Actions runner to mask secrets (::add-mask::). It is
// a separate fact from what a Masker holds: a Masker masks tokenmint's own
// output, an Announcer records which forms this phase has told the runner,
// so registering a secret locally first can never skip its announcement.
// Each phase (process) has its own Announcer, so every phase announces
// every secret it handles, before its first other line.
//
// It is safe for concurrent use.
type Announcer struct {
	mu        sync.Mutex
	emit      func(form string)
	announced map[string]bool
	order     []string
}

// NewAnnouncer returns an Announcer that announces a form by calling emit
// (for example (*githubactions.Action).AddMask).
func NewAnnouncer(emit func(form string)) *Announcer {
	return &Announcer{emit: emit, announced: map[string]bool{}}
}

// Announce announces every Form of value that this Announcer has not
// announced yet, in Forms order, and returns those forms. Blank values are
// ignored.
func (a *Announcer) Announce(value string) []string {
	if a == nil || strings.TrimSpace(value) == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, f := range Forms(value) {
		if a.announced[f] {
			continue
		}
		a.announced[f] = true
		a.order = append(a.order, f)
		out = append(out, f)
		a.emit(f)
	}
	return out
}

// Announced returns every form announced so far, in order.
func (a *Announcer) Announced() []string {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.order...)
}

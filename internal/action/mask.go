package action

import (
	"strings"

	"github.com/tokenmint/tokenmint/internal/config"
)

// Masking, one rule (spec "Main phase" step 2): every phase that handles a
// secret tells the runner ::add-mask:: for each of its forms (the value,
// each line, base64 and URL-encoded; each body line of a PEM, also one
// with escaped newlines) before any other line it prints. What the runner
// was told (r.announcer, per phase) is kept apart from what the local
// masker knows (r.masker): registering a secret locally never stands in
// for announcing it.

// mask registers a secret with the local masker and announces every form
// of it this phase has not announced yet. Call it before anything that
// could print the value.
func (r *Runtime) mask(value string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	r.protect(value)
	r.announcer.Announce(value)
}

// maskSecretInputs masks every secret input (admin-key, its alias
// private-key, github-token, and any other input declared Secret; each
// secret config.SecretValues finds in it) from the raw environment, before the inputs are parsed, so the announcements come
// before any other line, an input error included.
func (r *Runtime) maskSecretInputs() {
	for _, in := range config.AllInputs() {
		if in.Secret {
			for _, v := range config.SecretValues(in, r.input(in.Name)) {
				r.mask(v)
			}
		}
	}
}

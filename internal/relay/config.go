package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tokenmint/tokenmint/internal/lazyre"
	"go.yaml.in/yaml/v3"
)

// Events are the Tooken webhook events the relay knows. Any other event
// name is acknowledged (2xx) and ignored.
var Events = []string{
	"token.created",
	"token.revoked",
	"token.rotated",
	"token.expired",
	"token.expiring",
	"token.used",
}

// DefaultEventType is the event_type template used when a route sets none.
const DefaultEventType = "tooken.{event}"

// maxEventTypeLen is GitHub's limit on a repository_dispatch event_type.
const maxEventTypeLen = 100

// maxConfigSize bounds the routes file.
const maxConfigSize = 1 << 20

var (
	ownerRe     = lazyre.New(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRe      = lazyre.New(`^[A-Za-z0-9._-]{1,100}$`)
	eventTypeRe = lazyre.New(`^[A-Za-z0-9._:/-]+$`)
)

// Routes is the relay's YAML configuration file.
type Routes struct {
	Routes []Route `yaml:"routes"`
}

// Route sends the listed events to the listed repositories.
type Route struct {
	Events       []string `yaml:"events"`
	Repositories []string `yaml:"repositories"`
	// EventType is the repository_dispatch event_type; "{event}" is
	// replaced by the Tooken event name. Default DefaultEventType.
	EventType string `yaml:"event_type"`
}

// Target is one repository_dispatch an event turns into.
type Target struct {
	Owner     string
	Repo      string
	EventType string
}

// FullName is "owner/repo".
func (t Target) FullName() string { return t.Owner + "/" + t.Repo }

// ConfigError is one problem in the routes file. Field is a path such as
// "routes[1].repositories[0]".
type ConfigError struct {
	Field string
	Rule  string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Rule) }

// LoadRoutesFile reads and validates a routes file.
func LoadRoutesFile(path string) (*Routes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open relay config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read relay config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, &ConfigError{Field: "config", Rule: fmt.Sprintf("file is larger than %d bytes", maxConfigSize)}
	}
	return ParseRoutes(data)
}

// ParseRoutes decodes a routes document (YAML, so JSON too) and validates
// it. Unknown fields are errors. Every problem is returned at once
// (errors.Join of *ConfigError).
func ParseRoutes(data []byte) (*Routes, error) {
	var r Routes
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{Field: "routes", Rule: "the file is empty: list at least one route"}
		}
		// yaml errors name the line and the field, not a secret (the file
		// holds none).
		return nil, &ConfigError{Field: "config", Rule: "invalid YAML: " + oneLine(err.Error())}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate checks every route and returns all problems at once.
func (r *Routes) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Rule: fmt.Sprintf(format, args...)})
	}
	if len(r.Routes) == 0 {
		add("routes", "list at least one route")
	}
	type pair struct{ event, repo string }
	seen := map[pair]string{}
	for i, rt := range r.Routes {
		base := fmt.Sprintf("routes[%d]", i)
		if len(rt.Events) == 0 {
			add(base+".events", "list at least one event (%s)", strings.Join(Events, ", "))
		}
		if len(rt.Repositories) == 0 {
			add(base+".repositories", "list at least one owner/repo")
		}
		tmpl := rt.EventType
		if tmpl == "" {
			tmpl = DefaultEventType
		}
		for j, ev := range rt.Events {
			f := fmt.Sprintf("%s.events[%d]", base, j)
			if !knownEvent(ev) {
				add(f, "unknown event %q: use one of %s", ev, strings.Join(Events, ", "))
				continue
			}
			et := renderEventType(tmpl, ev)
			switch {
			case len(et) > maxEventTypeLen:
				add(base+".event_type", "renders to more than %d characters for %s (GitHub's limit)", maxEventTypeLen, ev)
			case !eventTypeRe.MatchString(et):
				add(base+".event_type", "may hold only letters, digits and . _ : / - besides {event}")
			}
		}
		for j, repo := range rt.Repositories {
			f := fmt.Sprintf("%s.repositories[%d]", base, j)
			owner, name, ok := splitRepo(repo)
			if !ok {
				add(f, "must be owner/repo (letters, digits, '-', and '.', '_' in the repository name)")
				continue
			}
			for _, ev := range rt.Events {
				if !knownEvent(ev) {
					continue
				}
				k := pair{ev, strings.ToLower(owner + "/" + name)}
				if prev, dup := seen[k]; dup {
					add(f, "%s is already routed to this repository by %s: a repository gets each event once", ev, prev)
					continue
				}
				seen[k] = base
			}
		}
	}
	return errors.Join(errs...)
}

// Targets returns, per event, the dispatches to send.
func (r *Routes) Targets() map[string][]Target {
	out := map[string][]Target{}
	for _, rt := range r.Routes {
		tmpl := rt.EventType
		if tmpl == "" {
			tmpl = DefaultEventType
		}
		for _, ev := range rt.Events {
			for _, repo := range rt.Repositories {
				owner, name, _ := splitRepo(repo)
				out[ev] = append(out[ev], Target{Owner: owner, Repo: name, EventType: renderEventType(tmpl, ev)})
			}
		}
	}
	return out
}

func renderEventType(tmpl, event string) string {
	return strings.ReplaceAll(tmpl, "{event}", event)
}

func knownEvent(ev string) bool {
	for _, e := range Events {
		if e == ev {
			return true
		}
	}
	return false
}

func splitRepo(s string) (owner, repo string, ok bool) {
	owner, repo, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found || !ownerRe.MatchString(owner) || !repoRe.MatchString(repo) || repo == "." || repo == ".." {
		return "", "", false
	}
	return owner, repo, true
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/lazyre"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// Input is the action input the profile comes from.
const Input = "provider-config"

// maxProfileSize bounds a profile file.
const maxProfileSize = 64 << 10

// fieldErr is an input error for provider-config naming a profile field.
func fieldErr(field, format string, args ...any) *inputerr.Error {
	return inputerr.New(Input, "%s: %s", field, fmt.Sprintf(format, args...))
}

// pointerList decodes a JSON pointer or a list of alternatives.
type pointerList []string

func (p *pointerList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = pointerList{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*p = l
		return nil
	}
	return fmt.Errorf("line %d: must be a JSON pointer or a list of them", n.Line)
}

// File is the profile as written (YAML or JSON). See docs/rest-profile.md.
type File struct {
	Name           string            `yaml:"name"`
	BaseURL        string            `yaml:"base_url"`
	MaxNameLength  int               `yaml:"max_name_length"`
	Scopes         []string          `yaml:"scopes"`
	ScopesRequired bool              `yaml:"scopes_required"`
	Headers        map[string]string `yaml:"headers"`
	Secrets        []string          `yaml:"secrets"`
	NameField      string            `yaml:"name_field"`
	Auth           *struct {
		Header string `yaml:"header"`
		Value  string `yaml:"value"`
		Basic  *struct {
			User     string `yaml:"user"`
			Password string `yaml:"password"`
		} `yaml:"basic"`
	} `yaml:"auth"`
	Create *struct {
		Method       string                  `yaml:"method"`
		Path         string                  `yaml:"path"`
		Body         any                     `yaml:"body"`
		ExpiryFormat string                  `yaml:"expiry_format"`
		Expiry       string                  `yaml:"expiry"`
		ScopeValues  map[string][]scopeValue `yaml:"scope_values"`
		Success      []int                   `yaml:"success"`
		Response     *fieldsRaw              `yaml:"response"`
	} `yaml:"create"`
	Revoke *struct {
		Method            string        `yaml:"method"`
		Path              string        `yaml:"path"`
		Success           []statusMatch `yaml:"success"`
		Gone              []statusMatch `yaml:"gone"`
		CannotTellUnknown bool          `yaml:"cannot_tell_unknown"`
	} `yaml:"revoke"`
	List *struct {
		Method        string            `yaml:"method"`
		Path          string            `yaml:"path"`
		Query         map[string]string `yaml:"query"`
		Items         pointerList       `yaml:"items"`
		Item          *fieldsRaw        `yaml:"item"`
		RevokedValues []string          `yaml:"revoked_values"`
		Paging        *struct {
			PageParam    string `yaml:"page_param"`
			PerPageParam string `yaml:"per_page_param"`
			PerPage      int    `yaml:"per_page"`
			FirstPage    *int   `yaml:"first_page"`
			MaxPages     int    `yaml:"max_pages"`
		} `yaml:"paging"`
	} `yaml:"list"`
	Rotate *struct {
		Method   string     `yaml:"method"`
		Path     string     `yaml:"path"`
		Success  []int      `yaml:"success"`
		Response *fieldsRaw `yaml:"response"`
	} `yaml:"rotate"`
}

// scopeValue is one case of create.scope_values: the exact set of scopes
// that selects value.
type scopeValue struct {
	Scopes []string `yaml:"scopes"`
	Value  any      `yaml:"value"`
}

// statusMatch is an answer rule of revoke.success or revoke.gone: a status,
// or a status whose JSON body holds equals at pointer.
type statusMatch struct {
	Status  int    `yaml:"status"`
	Pointer string `yaml:"pointer"`
	Equals  any    `yaml:"equals"`
	line    int
}

func (m *statusMatch) UnmarshalYAML(n *yaml.Node) error {
	m.line = n.Line
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&m.Status)
	}
	type plain statusMatch
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*m = statusMatch(p)
	m.line = n.Line
	return nil
}

type fieldsRaw struct {
	ID              pointerList `yaml:"id"`
	Secret          pointerList `yaml:"secret"`
	Name            pointerList `yaml:"name"`
	Scopes          pointerList `yaml:"scopes"`
	ExpiresAt       pointerList `yaml:"expires_at"`
	ExpiresAtFormat string      `yaml:"expires_at_format"`
	CreatedAt       pointerList `yaml:"created_at"`
	Status          pointerList `yaml:"status"`
}

// fields says where a token's parts sit in a JSON answer.
type fields struct {
	id, secret, name, scopes, expiresAt, createdAt, status pointers
	expiresAtFormat                                        string
}

type call struct {
	method  string
	path    tmpl
	success []int
}

// Expiry capabilities (create.expiry).
const (
	expirySent  = "sent"  // the body carries {{expiry}}: the ttl reaches the service
	expiryFixed = "fixed" // the service sets a lifetime of its own
	expiryNone  = "none"  // the service's tokens do not expire
	// expiryUndeclared: no create.expiry and no {{expiry}} in the body.
	expiryUndeclared = "undeclared"
)

// nameNone is name_field's value for a service that keeps nothing that can
// carry the token name.
const nameNone = "none"

// answerRule is a compiled statusMatch.
type answerRule struct {
	status int
	ptr    pointers // nil: the status alone
	equals any
}

// scopeCase is a compiled scopeValue.
type scopeCase struct {
	scopes []string // sorted
	value  any
}

// Profile is a checked, compiled profile.
type Profile struct {
	Name           string
	BaseURL        string
	MaxNameLength  int
	Scopes         []string
	ScopesRequired bool

	headers     map[string]tmpl
	authHeader  string
	authValue   tmpl
	basic       bool
	basicUser   tmpl
	basicPass   tmpl
	create      call
	body        any // compiled body tree; nil: no body
	expiryFmt   string
	createResp  fields
	revoke      call
	list        *listSpec
	rotate      *call
	rotateResp  fields
	usesClient  bool
	bodyHasDesc bool
	bodyScopes  bool

	state       string   // canonical JSON (State)
	secrets     []string // declared secret names
	authSecrets []string // of them, used in auth or headers (every call needs them)
	nameField   string   // pointer into create.body carrying {{name}}; nameNone; "" when the body sends no name and there is no list
	expiry      string   // expirySent, expiryFixed or expiryNone
	scopeValues map[string][]scopeCase
	revokeOK    []answerRule // success rules; nil: any 2xx
	revokeGone  []answerRule
	cannotTell  bool // revoke answers success for unknown IDs too
}

type listSpec struct {
	call
	query         map[string]tmpl
	items         pointers
	item          fields
	revokedValues []string
	paging        bool
	pageParam     string
	perPageParam  string
	perPage       int
	firstPage     int
	maxPages      int
}

// Placeholders per field.
var (
	authPlaceholders   = []string{phAdminKey, phClientID, phSecret}
	headerPlaceholders = []string{phClientID, phSecret}
	createPath         = []string{phClientID}
	bodyPlaceholders   = []string{phName, phDescription, phScopes, phExpiry, phClientID, phSecret}
	idPath             = []string{phID, phClientID}
	listQuery          = []string{phName, phClientID}
)

var (
	headerNameRE = lazyre.New(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)
	methods      = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
)

// Load reads the profile from o.ProviderConfig (a path in o.Workspace, or
// the profile inline) and checks it. Every problem comes back at once, as
// *inputerr.Error values for provider-config joined with errors.Join.
func Load(o provider.Options) (*Profile, error) {
	data, err := read(o)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil && !Inline(o.ProviderConfig) {
		// Errors that know their line point into the file (annotations).
		file := profileFile(o)
		ies, _ := inputerr.List(err)
		for _, ie := range ies {
			if ie.Line > 0 {
				ie.File = file
			}
		}
	}
	return p, err
}

// profileFile is the profile's path for annotations: relative to the
// workspace when inside it, else as given.
func profileFile(o provider.Options) string {
	path := filepath.Clean(strings.TrimSpace(o.ProviderConfig))
	if o.Workspace != "" && filepath.IsAbs(path) {
		if rel, err := filepath.Rel(o.Workspace, path); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(path)
}

// Inline reports whether a provider-config value is the profile itself
// rather than a path: it holds a newline or starts with "{".
func Inline(cfg string) bool {
	return strings.ContainsAny(cfg, "\r\n") || strings.HasPrefix(strings.TrimSpace(cfg), "{")
}

func read(o provider.Options) ([]byte, error) {
	cfg := o.ProviderConfig
	if strings.TrimSpace(cfg) == "" {
		return nil, inputerr.New(Input, "is required by the rest provider: a path in the workspace to a YAML or JSON profile, or the profile inline")
	}
	if Inline(cfg) {
		if len(cfg) > maxProfileSize {
			return nil, inputerr.New(Input, "the inline profile is larger than %d KiB", maxProfileSize>>10)
		}
		return []byte(cfg), nil
	}
	path := strings.TrimSpace(cfg)
	var f io.ReadCloser
	if o.Workspace == "" {
		// The CLI without a workspace: a path as given.
		file, err := os.Open(path) //nolint:gosec // the CLI user names their own profile file
		if err != nil {
			return nil, fileErr(err)
		}
		f = file
	} else {
		rel := path
		if filepath.IsAbs(path) {
			r, err := filepath.Rel(o.Workspace, path)
			if err != nil {
				return nil, inputerr.New(Input, "must be a path inside the workspace")
			}
			rel = r
		}
		rel = filepath.Clean(rel)
		if !filepath.IsLocal(rel) {
			return nil, inputerr.New(Input, "must be a path inside the workspace (no \"..\" out of it)")
		}
		// os.Root also refuses symbolic links that lead out of the workspace.
		root, err := os.OpenRoot(o.Workspace)
		if err != nil {
			return nil, fmt.Errorf("failed to open the workspace: %w", err)
		}
		defer root.Close()
		file, err := root.Open(rel)
		if err != nil {
			return nil, fileErr(err)
		}
		f = file
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProfileSize+1))
	if err != nil {
		return nil, inputerr.New(Input, "the profile file cannot be read")
	}
	if len(data) > maxProfileSize {
		return nil, inputerr.New(Input, "the profile file is larger than %d KiB", maxProfileSize>>10)
	}
	return data, nil
}

func fileErr(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return inputerr.New(Input, "the profile file does not exist in the workspace")
	case errors.Is(err, os.ErrPermission):
		return inputerr.New(Input, "the profile file cannot be read (permission denied)")
	default:
		// os.Root's escape refusal and other path errors.
		return inputerr.New(Input, "the profile file cannot be opened inside the workspace (a path or link leading out of it is refused)")
	}
}

var (
	yamlQuoted  = lazyre.New("`[^`]*`")
	yamlUnknown = lazyre.New(`(?s)^line (\d+): field (\S+) not found in type .+$`)
	// yamlGoType is the tail of a decoder message that names a Go type.
	yamlGoType = lazyre.New(`(?s) (?:into|in type|of type) .*$`)
	yamlType   = lazyre.New("(?s)^line (\\d+): cannot unmarshal !!(\\w+) (?:`[^`]*` )?into (.+)$")
	// yamlTag is a tag the profile wrote ("!!!x", "!foo"): its text, not ours.
	yamlTag = lazyre.New(`!\S*`)
)

// kindOf names a Go target type of a YAML type error in profile terms.
func kindOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping"
	}
}

// Parse checks and compiles a profile (YAML or JSON).
func Parse(data []byte) (*Profile, error) {
	var f File
	if err := decode(data, &f); err != nil {
		return nil, err
	}
	p, err := compile(&f)
	if err != nil {
		return nil, err
	}
	p.state, err = canonical(data)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the profile for the post step: %w", err)
	}
	return p, nil
}

// canonical returns the profile as one line of JSON: what the post step
// reads back from state (inline, so it never rereads the workspace).
func canonical(data []byte) (string, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		if jerr := json.Unmarshal(bytes.TrimSpace(data), &v); jerr != nil {
			return "", fmt.Errorf("failed to read the profile: %w", err)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// State is the compiled profile as it is saved in state for the post
// step: one line of JSON, a valid inline provider-config. It holds what
// the profile file holds and no input: never a secret (secrets come
// through admin-key and provider-secrets, which are not saved).
func (p *Profile) State() string { return p.state }

func decode(data []byte, f *File) error {
	err := decodeYAML(data, f)
	if err == nil {
		return nil
	}
	// JSON is YAML, except for tabs used as indentation: try it as JSON.
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var v any
		if json.Unmarshal(t, &v) == nil {
			y, merr := yaml.Marshal(v)
			if merr == nil {
				*f = File{}
				return decodeYAML(y, f)
			}
		}
	}
	return err
}

func decodeYAML(data []byte, f *File) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(f)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return inputerr.New(Input, "the profile is empty")
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, m := range te.Errors {
			if sub := yamlUnknown.FindStringSubmatch(m); sub != nil {
				errs = append(errs, atLine(inputerr.New(Input, "line %s: unknown field %q", sub[1], sub[2]), sub[1]))
				continue
			}
			if sub := yamlType.FindStringSubmatch(m); sub != nil {
				errs = append(errs, atLine(inputerr.New(Input, "line %s: must be %s, not a YAML %s", sub[1], kindOf(sub[3]), sub[2]), sub[1]))
				continue
			}
			m = yamlGoType.ReplaceAllString(m, "")
			ie := inputerr.New(Input, "%s", yamlTag.ReplaceAllString(yamlQuoted.ReplaceAllString(m, "a value"), "a tagged value"))
			if sub := yamlLine.FindStringSubmatch(m); sub != nil {
				_ = atLine(ie, sub[1])
			}
			errs = append(errs, ie)
		}
		return errors.Join(errs...)
	}
	msg := strings.TrimPrefix(yamlQuoted.ReplaceAllString(err.Error(), "a value"), "yaml: ")
	msg = yamlGoType.ReplaceAllString(msg, "")
	ie := inputerr.New(Input, "is not valid YAML or JSON: %s", msg)
	if sub := yamlLine.FindStringSubmatch(msg); sub != nil {
		_ = atLine(ie, sub[1])
	}
	return ie
}

var yamlLine = regexp.MustCompile(`^line (\d+):`)

// atLine sets the line of an input error from decimal text.
func atLine(ie *inputerr.Error, line string) *inputerr.Error {
	if n, err := strconv.Atoi(line); err == nil && n > 0 {
		ie.Line = n
	}
	return ie
}

// compiler collects every problem of a profile.
type compiler struct {
	errs    []error
	bodyBad bool // create.body has errors: checks that read it are skipped
}

func (c *compiler) bad(field, format string, args ...any) {
	c.errs = append(c.errs, fieldErr(field, format, args...))
}

func (c *compiler) template(field, s string, required bool, allowed ...string) tmpl {
	if s == "" {
		if required {
			c.bad(field, "is required")
		}
		return tmpl{}
	}
	t, err := parseTemplate(s, allowed...)
	if err != nil {
		c.bad(field, "%s", err)
	}
	return t
}

func (c *compiler) path(field, s string, allowed []string, need string) tmpl {
	if s == "" {
		c.bad(field, "is required")
		return tmpl{}
	}
	if !strings.HasPrefix(s, "/") {
		c.bad(field, `must start with "/" (it is appended to the base URL)`)
	}
	t := c.template(field, s, true, allowed...)
	if need != "" && !t.uses(need) {
		c.bad(field, "must contain {{%s}}", need)
	}
	return t
}

func (c *compiler) method(field, m, def string) string {
	if m == "" {
		return def
	}
	m = strings.ToUpper(m)
	if !slices.Contains(methods, m) {
		c.bad(field, "must be one of %s", strings.Join(methods, ", "))
	}
	return m
}

func (c *compiler) statuses(field string, s []int) []int {
	for _, v := range s {
		if v < 100 || v > 599 {
			c.bad(field, "must list HTTP statuses (100 to 599)")
			break
		}
	}
	return s
}

func (c *compiler) pointers(field string, raw pointerList, required, root bool) pointers {
	if len(raw) == 0 {
		if required {
			c.bad(field, "is required")
		}
		return nil
	}
	out := make(pointers, 0, len(raw))
	for _, r := range raw {
		p, err := parsePointer(r, root)
		if err != nil {
			c.bad(field, "%s", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (c *compiler) fields(field string, r *fieldsRaw, withSecret, withStatus bool) fields {
	if r == nil {
		c.bad(field, "is required")
		return fields{}
	}
	f := fields{
		id:        c.pointers(field+".id", r.ID, true, false),
		name:      c.pointers(field+".name", r.Name, false, false),
		scopes:    c.pointers(field+".scopes", r.Scopes, false, false),
		expiresAt: c.pointers(field+".expires_at", r.ExpiresAt, false, false),
		createdAt: c.pointers(field+".created_at", r.CreatedAt, false, false),
	}
	if withSecret {
		f.secret = c.pointers(field+".secret", r.Secret, true, false)
	} else if len(r.Secret) > 0 {
		c.bad(field+".secret", "is not read here: listings carry no secrets")
	}
	if withStatus {
		f.status = c.pointers(field+".status", r.Status, false, false)
	} else if len(r.Status) > 0 {
		c.bad(field+".status", "is only read in list.item")
	}
	f.expiresAtFormat = r.ExpiresAtFormat
	switch r.ExpiresAtFormat {
	case "":
		f.expiresAtFormat = fmtRFC3339
	case fmtRFC3339, fmtUnix, fmtUnixMS, fmtJWT:
	default:
		c.bad(field+".expires_at_format", "must be %s, %s, %s or %s", fmtRFC3339, fmtUnix, fmtUnixMS, fmtJWT)
	}
	return f
}

func compile(f *File) (*Profile, error) {
	c := &compiler{}
	p := &Profile{Name: f.Name, BaseURL: strings.TrimRight(f.BaseURL, "/"), MaxNameLength: f.MaxNameLength, Scopes: f.Scopes, ScopesRequired: f.ScopesRequired}
	if p.Name == "" {
		p.Name = "REST"
	}
	if len(p.Name) > 64 || strings.ContainsAny(p.Name, "\r\n:#") {
		c.bad("name", "must be a short label (at most 64 characters, no line breaks, ':' or '#')")
	}
	if f.BaseURL != "" {
		if err := CheckURL(f.BaseURL); err != nil {
			c.bad("base_url", "%s", err)
		}
	}
	if f.MaxNameLength < 0 {
		c.bad("max_name_length", "must be 0 (no limit) or more")
	}
	for i, s := range f.Scopes {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, ",\r\n") {
			c.bad(fmt.Sprintf("scopes[%d]", i), "must be a non-empty scope without commas or line breaks")
		}
	}
	if f.ScopesRequired && f.Create != nil && f.Create.Body == nil {
		c.bad("scopes_required", "needs a create.body with {{scopes}}")
	}

	var uses []tmpl
	p.headers = map[string]tmpl{}
	for k, v := range f.Headers {
		if !headerNameRE.MatchString(k) {
			c.bad("headers", "a header name must be an HTTP token")
			continue
		}
		p.headers[k] = c.template("headers."+k, v, false, headerPlaceholders...)
		uses = append(uses, p.headers[k])
	}

	switch a := f.Auth; {
	case a == nil:
		c.bad("auth", "is required: a header and value template, or basic")
	case a.Basic != nil && (a.Header != "" || a.Value != ""):
		c.bad("auth", "set either header and value, or basic, not both")
	case a.Basic != nil:
		p.basic = true
		user, pass := a.Basic.User, a.Basic.Password
		if user == "" {
			user = "{{client_id}}"
		}
		if pass == "" {
			pass = "{{admin_key}}"
		}
		p.basicUser = c.template("auth.basic.user", user, true, authPlaceholders...)
		p.basicPass = c.template("auth.basic.password", pass, true, authPlaceholders...)
		if !p.basicUser.uses(phAdminKey) && !p.basicPass.uses(phAdminKey) {
			c.bad("auth.basic", "must use {{admin_key}} in user or password")
		}
		uses = append(uses, p.basicUser, p.basicPass)
	default:
		if a.Header == "" {
			c.bad("auth.header", "is required (for example Authorization)")
		} else if !headerNameRE.MatchString(a.Header) {
			c.bad("auth.header", "must be an HTTP header name")
		}
		p.authHeader = a.Header
		p.authValue = c.template("auth.value", a.Value, true, authPlaceholders...)
		if a.Value != "" && !p.authValue.uses(phAdminKey) {
			c.bad("auth.value", "must contain {{admin_key}}")
		}
		uses = append(uses, p.authValue)
	}

	if cr := f.Create; cr == nil {
		c.bad("create", "is required")
	} else {
		p.create = call{method: c.method("create.method", cr.Method, http.MethodPost), path: c.path("create.path", cr.Path, createPath, ""), success: c.statuses("create.success", cr.Success)}
		uses = append(uses, p.create.path)
		if cr.Body != nil {
			if _, ok := cr.Body.(map[string]any); !ok {
				c.bad("create.body", "must be a JSON object")
			} else {
				body, errs := parseBody(cr.Body, "create.body", bodyPlaceholders)
				c.errs = append(c.errs, errs...)
				c.bodyBad = len(errs) > 0
				p.body = body
				if bodyUses(body, phClientID) {
					p.usesClient = true
				}
				p.bodyHasDesc = bodyUses(body, phDescription)
				p.bodyScopes = bodyUses(body, phScopes)
			}
		}
		p.expiryFmt = cr.ExpiryFormat
		if p.expiryFmt == "" {
			p.expiryFmt = fmtRFC3339
		} else if !slices.Contains(requestExpiryFormats, p.expiryFmt) {
			c.bad("create.expiry_format", "must be one of %s", strings.Join(requestExpiryFormats, ", "))
		}
		p.createResp = c.fields("create.response", cr.Response, true, false)
	}
	if f.ScopesRequired && f.Create != nil && f.Create.Body != nil && !p.bodyScopes {
		c.bad("scopes_required", "needs {{scopes}} in create.body")
	}
	if len(f.Scopes) > 0 && f.Create != nil && !p.bodyScopes {
		c.bad("scopes", "lists scopes but create.body has no {{scopes}} to send them in")
	}

	if rv := f.Revoke; rv == nil {
		c.bad("revoke", "is required")
	} else {
		p.revoke = call{method: c.method("revoke.method", rv.Method, http.MethodDelete), path: c.path("revoke.path", rv.Path, idPath, phID)}
		uses = append(uses, p.revoke.path)
		p.revokeOK = c.answerRules("revoke.success", rv.Success)
		p.revokeGone = c.answerRules("revoke.gone", rv.Gone)
		if rv.Gone == nil {
			p.revokeGone = []answerRule{{status: http.StatusNotFound}, {status: http.StatusGone}}
		}
		p.cannotTell = rv.CannotTellUnknown
	}

	if l := f.List; l != nil {
		ls := &listSpec{call: call{method: c.method("list.method", l.Method, http.MethodGet), path: c.path("list.path", l.Path, createPath, "")}}
		uses = append(uses, ls.path)
		ls.query = map[string]tmpl{}
		for k, v := range l.Query {
			if k == "" {
				c.bad("list.query", "parameter names must not be empty")
				continue
			}
			ls.query[k] = c.template("list.query."+k, v, false, listQuery...)
			uses = append(uses, ls.query[k])
		}
		ls.items = c.pointers("list.items", l.Items, false, true)
		if len(l.Items) == 0 {
			ls.items = pointers{{}} // the answer is the array
		}
		ls.item = c.fields("list.item", l.Item, false, true)
		switch {
		case f.NameField == nameNone && l.Item != nil && len(l.Item.Name) > 0:
			c.bad("list.item.name", "must not be set with name_field: none: tokens would be matched on a field that does not hold the name tokenmint sent (an owner or user is shared by many tokens)")
		case f.NameField != nameNone && l.Item != nil && len(l.Item.Name) == 0:
			c.bad("list.item.name", "is required: tokens are found by the exact name tokenmint sent (or set name_field: none when the service keeps no name)")
		}
		ls.revokedValues = l.RevokedValues
		if pg := l.Paging; pg != nil {
			ls.paging = true
			ls.pageParam, ls.perPageParam, ls.perPage, ls.maxPages = pg.PageParam, pg.PerPageParam, pg.PerPage, pg.MaxPages
			ls.firstPage = 1
			if pg.FirstPage != nil {
				ls.firstPage = *pg.FirstPage
			}
			if pg.PageParam == "" {
				c.bad("list.paging.page_param", "is required")
			}
			if pg.PerPage <= 0 {
				c.bad("list.paging.per_page", "must be 1 or more (a shorter page ends the listing)")
			}
			if ls.maxPages == 0 {
				ls.maxPages = 100
			} else if ls.maxPages < 0 {
				c.bad("list.paging.max_pages", "must be 1 or more")
			}
		}
		p.list = ls
	}

	if r := f.Rotate; r != nil {
		p.rotate = &call{method: c.method("rotate.method", r.Method, http.MethodPost), path: c.path("rotate.path", r.Path, idPath, phID), success: c.statuses("rotate.success", r.Success)}
		uses = append(uses, p.rotate.path)
		if r.Response != nil {
			p.rotateResp = c.fields("rotate.response", r.Response, true, false)
		} else {
			p.rotateResp = p.createResp
		}
	}

	for _, t := range uses {
		if t.uses(phClientID) {
			p.usesClient = true
		}
	}
	c.capabilities(f, p, uses)
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckURL applies httpx.CheckBaseURL (the one base-URL policy).
func CheckURL(raw string) error {
	_, err := httpx.CheckBaseURL(raw)
	return err
}

// answerRules compiles revoke.success or revoke.gone.
func (c *compiler) answerRules(field string, ms []statusMatch) []answerRule {
	if ms == nil {
		return nil
	}
	out := make([]answerRule, 0, len(ms))
	for i, m := range ms {
		at := fmt.Sprintf("%s[%d]", field, i)
		if m.Status < 100 || m.Status > 599 {
			c.bad(at, "must be an HTTP status (100 to 599), or {status: N, pointer: /json/pointer, equals: value}")
			continue
		}
		r := answerRule{status: m.Status}
		switch {
		case m.Pointer == "" && m.Equals != nil:
			c.bad(at+".pointer", "is required with equals: where in the JSON answer the value is")
		case m.Pointer != "":
			r.ptr = c.pointers(at+".pointer", pointerList{m.Pointer}, true, false)
			if m.Equals == nil {
				c.bad(at+".equals", "is required with pointer: the value that identifies this answer")
			}
			switch m.Equals.(type) {
			case nil, string, bool, int, int64, uint64, float64:
			default:
				c.bad(at+".equals", "must be a string, number or boolean")
			}
			r.equals = m.Equals
		}
		out = append(out, r)
	}
	return out
}

// capabilities checks and compiles what the service keeps and does with
// what is sent: secrets, the name field, expiry and scope values.
func (c *compiler) capabilities(f *File, p *Profile, uses []tmpl) {
	// Secrets: declared once, each used, none undeclared.
	declared := map[string]bool{}
	for i, name := range f.Secrets {
		switch {
		case !identRE.MatchString(name):
			c.bad(fmt.Sprintf("secrets[%d]", i), "must be a name of lowercase letters, digits and _ (starting with a letter, at most 40)")
		case declared[name]:
			c.bad(fmt.Sprintf("secrets[%d]", i), "is declared twice")
		default:
			declared[name] = true
			p.secrets = append(p.secrets, name)
		}
	}
	used := map[string]bool{}
	inAuth := map[string]bool{}
	scopeMaps := map[string]bool{}
	auth := true
	note := func(ph string) {
		base, arg, _ := strings.Cut(ph, ":")
		switch base {
		case phSecret:
			used[arg] = true
			if auth {
				inAuth[arg] = true
			}
		case phScopes:
			if arg != "" {
				scopeMaps[arg] = true
			}
		}
	}
	for _, t := range uses {
		for _, ph := range t.placeholders() {
			note(ph)
		}
	}
	auth = false
	var nameAt []string // body places that are exactly {{name}}
	nameEmbedded := false
	if p.body != nil {
		bodyTemplates(p.body, "", func(ptr string, t tmpl) {
			for _, ph := range t.placeholders() {
				note(ph)
			}
			if ph, ok := t.whole(); ok && ph == phName {
				nameAt = append(nameAt, ptr)
			} else if t.uses(phName) {
				nameEmbedded = true
			}
		})
	}
	for _, name := range sortedKeys(used) {
		if !declared[name] {
			c.bad("secrets", "must declare %q: the profile uses {{secret:%s}}", name, name)
		}
	}
	for _, name := range p.secrets {
		if inAuth[name] {
			p.authSecrets = append(p.authSecrets, name)
		}
		if !used[name] {
			c.bad("secrets", "declares %q but no auth, header or create.body uses {{secret:%s}}", name, name)
		}
	}

	// Scope values: {{scopes:NAME}} becomes the value of the first case
	// whose scopes are exactly the scopes input.
	var cr = f.Create
	var raw map[string][]scopeValue
	if cr != nil {
		raw = cr.ScopeValues
	}
	p.scopeValues = map[string][]scopeCase{}
	for _, name := range sortedKeys(raw) {
		field := "create.scope_values." + name
		if !identRE.MatchString(name) {
			c.bad(field, "must be a name of lowercase letters, digits and _")
			continue
		}
		if !scopeMaps[name] {
			c.bad(field, "is not used: create.body has no {{scopes:%s}}", name)
		}
		if len(raw[name]) == 0 {
			c.bad(field, "must list at least one case {scopes: [...], value: ...}")
		}
		for i, sv := range raw[name] {
			at := fmt.Sprintf("%s[%d]", field, i)
			if sv.Value == nil {
				c.bad(at+".value", "is required")
			}
			for _, s := range sv.Scopes {
				if len(f.Scopes) > 0 && !slices.Contains(f.Scopes, s) {
					c.bad(at+".scopes", "must use scopes from the profile's scopes list")
					break
				}
			}
			sc := slices.Clone(sv.Scopes)
			slices.Sort(sc)
			sc = slices.Compact(sc)
			p.scopeValues[name] = append(p.scopeValues[name], scopeCase{scopes: sc, value: sv.Value})
		}
	}
	for _, name := range sortedKeys(scopeMaps) {
		if _, ok := raw[name]; !ok {
			c.bad("create.scope_values", "must define %q: create.body uses {{scopes:%s}}", name, name)
		}
	}
	if len(scopeMaps) > 0 {
		p.bodyScopes = true
	}

	if c.bodyBad {
		return
	}
	// Expiry: does the ttl reach the service?
	if cr != nil {
		sends := p.body != nil && bodyUses(p.body, phExpiry)
		switch cr.Expiry {
		case "":
			// Undeclared without {{expiry}}: the ttl cannot reach the
			// service. A ttl the user sets is refused, the default one is
			// warned about (never silently dropped).
			p.expiry = expirySent
			if !sends {
				p.expiry = expiryUndeclared
			}
		case expirySent:
			p.expiry = expirySent
			if !sends {
				c.bad("create.expiry", "is sent, but create.body has no {{expiry}}")
			}
		case expiryFixed, expiryNone:
			p.expiry = cr.Expiry
			if sends {
				c.bad("create.expiry", "is %s, but create.body sends {{expiry}}: use sent", cr.Expiry)
			}
		default:
			c.bad("create.expiry", "must be sent, fixed or none")
		}
	}

	// The name field: where the service keeps the exact name tokenmint
	// sent, so that a lost create can be found by it.
	switch nf := f.NameField; {
	case nf == nameNone:
		p.nameField = nameNone
		if len(nameAt) > 0 || nameEmbedded {
			c.bad("name_field", "is none, but create.body sends {{name}}: point name_field at that member")
		}
	case nf != "":
		if !slices.Contains(nameAt, nf) {
			c.bad("name_field", "must be the JSON pointer of a create.body member whose value is exactly \"{{name}}\" (the service must keep the exact name to find the token by it), or none")
		}
		p.nameField = nf
	case len(nameAt) == 1:
		p.nameField = nameAt[0]
	case len(nameAt) > 1:
		c.bad("name_field", "is required: create.body sends {{name}} in %s; say which one the service keeps and lists", strings.Join(nameAt, ", "))
	case cr != nil:
		c.bad("name_field", "is required: create.body sends no exact {{name}}; point it at the member that carries the name, or set none when the service keeps nothing that can (then a create whose answer was lost cannot be found, and a warning says so)")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

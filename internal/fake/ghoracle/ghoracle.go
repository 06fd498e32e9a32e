// Package ghoracle holds the GitHub fakes to GitHub's own REST description.
// Importing it (blank, from a _test.go file) sets fake.GitHubOracle, so
// every request a test sends to a GitHub fake (internal/fake/ghapp,
// internal/fake/ghsecrets, the relay's repository_dispatch fake) is
// validated with github.com/getkin/kin-openapi against the operations
// extracted into testdata/openapi (go run ./internal/tools/openapiextract):
//
//   - the operation exists for the method and path (path parameters must
//     be escaped: an unescaped "/" in an environment name matches nothing);
//   - parameters and the JSON body are valid against the operation's
//     request schema, with no undeclared fields (object schemas are made
//     closed: additionalProperties false);
//   - a 2xx answer of the fake itself (not an injected fault) is declared
//     for the operation and every field in it is declared in the response
//     schema, so every field tokenmint reads from a fake exists at GitHub.
//     Response schemas' required lists are not enforced: a fake may leave
//     fields out.
//
// Requests to a fake without a prefix are checked against api.github.com
// under API versions 2022-11-28 and 2026-03-10; requests under /api/v3
// against GHES 3.19 (the newest GHES description @octokit/openapi 23.0.2
// ships). A request that fails is answered 400 (a response that fails:
// 502) with a message naming the description, the operation and the
// schema path, so the test that sent it fails with that message; it is
// also printed to stderr and kept (Violations).
//
// A test that sends an invalid request on purpose (to test a fake's own
// refusals) sets the header ExpectInvalid: the oracle then requires the
// request to be invalid and passes it to the fake.
//
// When TOKENMINT_ORACLE_LOG names a file, one line per checked request
// (description, method, operation path, result) is appended to it: the
// count of requests the suite validated.
package ghoracle

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// ExpectInvalid is the request header a test sets on a request it means
// to be invalid.
const ExpectInvalid = "X-Tokenmint-Oracle-Expect-Invalid"

// LogEnv names the file that checked requests are logged to.
const LogEnv = "TOKENMINT_ORACLE_LOG"

// Description names.
const (
	DotCom20221128 = "api.github.com.2022-11-28"
	DotCom20260310 = "api.github.com.2026-03-10"
	GHES           = "ghes-3.19"
)

//go:embed testdata/openapi/*.json
var files embed.FS

func init() { fake.GitHubOracle = Wrap }

// Description is one loaded, tightened description.
type Description struct {
	Name   string
	Doc    *openapi3.T
	router routers.Router
	// Absent lists the operations tokenmint calls that this description
	// lacks ("PUT /orgs/{org}/codespaces/secrets/{secret_name}" on GHES).
	Absent []string
}

var (
	loadOnce sync.Once
	loaded   map[string]*Description
	loadErr  error
)

// Load returns the embedded descriptions by name.
func Load() (map[string]*Description, error) {
	loadOnce.Do(func() { loaded, loadErr = loadAll() })
	return loaded, loadErr
}

// base is the origin requests are rewritten to before routing (the
// descriptions' own servers are replaced by it).
const base = "https://oracle.invalid"

func loadAll() (map[string]*Description, error) {
	out := map[string]*Description{}
	for _, name := range []string{DotCom20221128, DotCom20260310, GHES} {
		raw, err := files.ReadFile("testdata/openapi/" + name + ".json")
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", name, err)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(raw)
		if err != nil {
			return nil, fmt.Errorf("failed to load %s: %w", name, err)
		}
		d := &Description{Name: name, Doc: doc}
		if a, ok := doc.Extensions["x-tokenmint-absent"].([]any); ok {
			for _, v := range a {
				d.Absent = append(d.Absent, fmt.Sprint(v))
			}
		}
		tighten(doc)
		allowDeliberate(doc)
		doc.Servers = openapi3.Servers{{URL: base}}
		if d.router, err = gorillamux.NewRouter(doc); err != nil {
			return nil, fmt.Errorf("failed to route %s: %w", name, err)
		}
		out[name] = d
	}
	return out, nil
}

// allowDeliberate adds to a description what tokenmint sends on purpose
// although GitHub's description lacks it, each with its reason; the oracle
// accepts exactly these and nothing else undeclared.
//
//   - app-permissions.team_discussions (read, write): create-github-app-token
//     v3.1.1 still declares permission-team-discussions and passes it on;
//     tokenmint does the same, with a warning that GitHub no longer
//     documents it, so a workflow moved over keeps working.
func allowDeliberate(doc *openapi3.T) {
	if doc.Components == nil {
		return
	}
	if ref, ok := doc.Components.Schemas["app-permissions"]; ok && ref.Value != nil {
		if _, has := ref.Value.Properties["team_discussions"]; !has {
			ref.Value.Properties["team_discussions"] = openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithEnum("read", "write"))
		}
	}
}

// tighten closes every object schema reachable from a request body or a
// response (additionalProperties false where the description left it
// open) and drops response schemas' required lists.
func tighten(doc *openapi3.T) {
	seenResp := map[*openapi3.Schema]bool{}
	seenReq := map[*openapi3.Schema]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					walk(mt.Schema, seenResp, true)
				}
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema, seenReq, false)
			}
		}
	}
}

func walk(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool, response bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if response {
		s.Required = nil
	}
	// allOf parts are validated one by one: closing them would refuse
	// the other parts' fields.
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil && len(s.AllOf) == 0 {
		f := false
		s.AdditionalProperties.Has = &f
	}
	for _, p := range s.Properties {
		walk(p, seen, response)
	}
	walk(s.Items, seen, response)
	walk(s.AdditionalProperties.Schema, seen, response)
	for _, l := range [][]*openapi3.SchemaRef{s.AnyOf, s.OneOf} {
		for _, x := range l {
			walk(x, seen, response)
		}
	}
	for _, x := range s.AllOf {
		for _, p := range x.Value.Properties {
			walk(p, seen, response)
		}
	}
}

// Violation is one request or response the description refused.
type Violation struct {
	Description string
	Method      string
	Path        string // as sent
	Message     string // operation and schema path included
}

func (v Violation) String() string {
	return fmt.Sprintf("openapi oracle (%s): %s %s: %s", v.Description, v.Method, v.Path, v.Message)
}

var (
	mu         sync.Mutex
	violations []Violation
	checked    atomic.Int64
	logMu      sync.Mutex
)

// Violations returns every violation so far in this process.
func Violations() []Violation {
	mu.Lock()
	defer mu.Unlock()
	return append([]Violation(nil), violations...)
}

// Checked returns how many (request, description) pairs were validated.
func Checked() int64 { return checked.Load() }

func record(v Violation) {
	mu.Lock()
	violations = append(violations, v)
	mu.Unlock()
	fmt.Fprintln(os.Stderr, v.String())
}

func logLine(desc, method, op, result string) {
	p := os.Getenv(LogEnv)
	if p == "" {
		return
	}
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\t%s\t%s\t%s\n", desc, method, op, result)
}

// For returns the descriptions a request to a fake with prefix is checked
// against.
func For(prefix string) []string {
	if strings.HasSuffix(strings.TrimRight(prefix, "/"), "/api/v3") {
		return []string{GHES}
	}
	return []string{DotCom20221128, DotCom20260310}
}

// Wrap returns next checked against the descriptions For(prefix).
func Wrap(prefix string, next http.Handler) http.Handler {
	descs, err := Load()
	if err != nil {
		panic("ghoracle: " + err.Error())
	}
	var use []*Description
	for _, n := range For(prefix) {
		use = append(use, descs[n])
	}
	prefix = strings.TrimRight(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(use, prefix, next, w, r)
	})
}

type check struct {
	desc  *Description
	input *openapi3filter.RequestValidationInput
}

func serve(descs []*Description, prefix string, next http.Handler, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "ghoracle: failed to read the body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	expectInvalid := r.Header.Get(ExpectInvalid) != ""
	var checks []check
	var problems []Violation
	for _, d := range descs {
		in, v := checkRequest(d, prefix, r, body)
		checked.Add(1)
		if v != nil {
			problems = append(problems, *v)
			logLine(d.Name, r.Method, r.URL.EscapedPath(), "invalid")
			continue
		}
		logLine(d.Name, r.Method, in.Route.Path, "ok")
		checks = append(checks, check{desc: d, input: in})
	}
	switch {
	case expectInvalid && len(problems) == 0:
		v := Violation{Description: descs[0].Name, Method: r.Method, Path: r.URL.EscapedPath(), Message: "the test expected this request to be invalid, and it is valid"}
		record(v)
		writeViolation(w, http.StatusBadRequest, []Violation{v})
		return
	case !expectInvalid && len(problems) > 0:
		for _, v := range problems {
			record(v)
		}
		writeViolation(w, http.StatusBadRequest, problems)
		return
	}
	r2, faulted := fake.WithFaultMark(r)
	r2.Body = io.NopCloser(bytes.NewReader(body))
	bw := &bufferedWriter{w: w, header: http.Header{}, faulted: faulted}
	next.ServeHTTP(bw, r2)
	if bw.hijacked || bw.direct {
		return
	}
	if !faulted.Load() && !expectInvalid && bw.status() >= 200 && bw.status() < 300 {
		var bad []Violation
		for _, c := range checks {
			if v := checkResponse(c, r, bw); v != nil {
				bad = append(bad, *v)
			}
		}
		if len(bad) > 0 {
			for _, v := range bad {
				record(v)
			}
			writeViolation(w, http.StatusBadGateway, bad)
			return
		}
	}
	bw.flush()
}

func writeViolation(w http.ResponseWriter, status int, vs []Violation) {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.String()
	}
	fake.JSON(w, status, map[string]string{"message": strings.Join(msgs, "; "), "documentation_url": "https://docs.github.com/rest"})
}

// checkRequest validates r (its path without prefix) against d.
func checkRequest(d *Description, prefix string, r *http.Request, body []byte) (*openapi3filter.RequestValidationInput, *Violation) {
	viol := func(msg string) *Violation {
		return &Violation{Description: d.Name, Method: r.Method, Path: r.URL.EscapedPath(), Message: msg}
	}
	escaped := r.URL.EscapedPath()
	if prefix != "" {
		rest, ok := strings.CutPrefix(escaped, prefix)
		if !ok {
			return nil, viol("not under the fake's prefix " + prefix)
		}
		escaped = rest
	}
	u, err := url.Parse(base + escaped)
	if err != nil {
		return nil, viol("unparsable path")
	}
	u.RawQuery = r.URL.RawQuery
	req := r.Clone(context.Background())
	req.URL = u
	req.Host = u.Host
	req.RequestURI = ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return nil, viol("no operation matches " + r.Method + " " + escaped + absentNote(d, r.Method, escaped))
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true, MultiError: false,
		RejectWhenRequestBodyNotSpecified: true,
	}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return nil, viol(describe(route, "request", err))
	}
	return in, nil
}

// absentNote says when the operation tokenmint needs is one the
// description lacks.
func absentNote(d *Description, method, escaped string) string {
	for _, a := range d.Absent {
		m, p, _ := strings.Cut(a, " ")
		if m == method && templateMatch(p, escaped) {
			return " (" + d.Name + " has no " + a + ")"
		}
	}
	return ""
}

func templateMatch(tmpl, p string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(p, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if !strings.HasPrefix(ts[i], "{") && ts[i] != ps[i] {
			return false
		}
	}
	return true
}

func checkResponse(c check, r *http.Request, bw *bufferedWriter) *Violation {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: c.input,
		Status:                 bw.status(),
		Header:                 bw.header,
		Body:                   io.NopCloser(bytes.NewReader(bw.body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return &Violation{Description: c.desc.Name, Method: r.Method, Path: r.URL.EscapedPath(), Message: describe(c.input.Route, fmt.Sprintf("response %d", bw.status()), err)}
	}
	return nil
}

// describe names the operation and, for schema errors, the schema path
// and the place in the value.
func describe(route *routers.Route, what string, err error) string {
	op := "#/paths/" + strings.ReplaceAll(route.Path, "/", "~1") + "/" + strings.ToLower(route.Method)
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		where := "/" + strings.Join(se.JSONPointer(), "/")
		return fmt.Sprintf("%s %s: value at %s: %s (schema keyword %q)", op, what, where, se.Reason, se.SchemaField)
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		loc := "body"
		if re.Parameter != nil {
			loc = "parameter " + re.Parameter.In + " " + re.Parameter.Name
		}
		return fmt.Sprintf("%s %s %s: %s", op, what, loc, firstLine(re.Error()))
	}
	return fmt.Sprintf("%s %s: %s", op, what, firstLine(err.Error()))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// bufferedWriter holds the fake's answer until it is checked. An
// injected fault's answer (a huge body, a hijacked connection) goes
// straight through, unchecked.
type bufferedWriter struct {
	w        http.ResponseWriter
	header   http.Header
	faulted  *atomic.Bool
	code     int
	body     bytes.Buffer
	hijacked bool
	direct   bool // a fault's answer, written through
}

func (b *bufferedWriter) Header() http.Header {
	if b.direct {
		return b.w.Header()
	}
	return b.header
}

func (b *bufferedWriter) WriteHeader(code int) {
	if b.code != 0 {
		return
	}
	b.code = code
	if b.faulted.Load() {
		b.direct = true
		for k, v := range b.header {
			b.w.Header()[k] = v
		}
		b.w.WriteHeader(code)
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.WriteHeader(http.StatusOK)
	}
	if b.direct {
		return b.w.Write(p)
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) status() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}

func (b *bufferedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := b.w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("ghoracle: cannot hijack")
	}
	b.hijacked = true
	return hj.Hijack()
}

func (b *bufferedWriter) flush() {
	for k, v := range b.header {
		b.w.Header()[k] = v
	}
	b.w.WriteHeader(b.status())
	_, _ = b.w.Write(b.body.Bytes())
}

// Operations returns the extracted operations of name ("METHOD /path"),
// sorted.
func Operations(name string) ([]string, error) {
	descs, err := Load()
	if err != nil {
		return nil, err
	}
	d, ok := descs[name]
	if !ok {
		return nil, fmt.Errorf("no description %s", name)
	}
	var out []string
	for p, item := range d.Doc.Paths.Map() {
		for m := range item.Operations() {
			out = append(out, m+" "+path.Clean(p))
		}
	}
	sort.Strings(out)
	return out, nil
}

package action_test

// A model-based randomized test of token ownership (issue 11): N jobs
// (2–8) run the action's main and post phases in process, concurrently,
// against one shared fake service; every request may meet a random fault;
// main may be SIGKILLed at any request; a deterministic scheduler picks,
// from the seed, which job's request goes next. After every schedule:
//
//   - no token was revoked by a job that did not mint it (foreign
//     revocations = 0), and tokens someone else made beforehand survive;
//   - every job whose main succeeded still held a live token when its own
//     post began;
//   - at the end every surviving token of a job was named (by name or ID)
//     in a ::warning:: of that job: orphans = 0.
//
// go test ./internal/action -run TestOwnershipModel -model.schedules=10000 -model.seed=N

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/action"
	"github.com/tokenmint/tokenmint/internal/e2e"
	"github.com/tokenmint/tokenmint/internal/fake"
	fakegroo "github.com/tokenmint/tokenmint/internal/fake/groo"
	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

var (
	modelSeed      = flag.Int64("model.seed", 0, "ownership model: seed of the first schedule (0: from the clock)")
	modelSchedules = flag.Int("model.schedules", 500, "ownership model: how many schedules to run")
	modelVerbose   = flag.Bool("model.v", false, "ownership model: log every schedule's figures")
)

const (
	modelTookenKey = "tok_live_modeladminkey0123456789abcd"
	modelHookKey   = "whr_live_modeladminkey0123456789abcd"
	modelGrooID    = "app_model0123"
	modelGrooKey   = "groo_secret_model0123456789abcdef"
)

// restProfile is Tooken through the rest provider (testdata/profiles/tooken.yaml, trimmed).
const restProfile = `
base_url: https://api.tooken.io/v1
max_name_length: 100
scopes: [tokens:read, tokens:write, tokens:revoke]
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
create:
  path: /tokens
  body: {name: "{{name}}", scopes: "{{scopes}}", expires_at: "{{expiry}}"}
  expiry_format: rfc3339
  success: [201]
  response: {id: /id, secret: /token, name: /name, expires_at: /expires_at, expires_at_format: rfc3339}
revoke: {method: DELETE, path: "/tokens/{{id}}", gone: [404, 410]}
list:
  path: /tokens
  query: {name: "{{name}}"}
  items: /data
  item: {id: /id, name: /name, status: /status}
  revoked_values: [revoked, expired]
  paging: {page_param: page, per_page_param: per_page, per_page: 100}
`

// figures are the totals a run reports.
type figures struct {
	schedules, jobs, requests, faults, kills, lates int
	foreignRevocations, orphans, warnedSurvivors    int
	mainOK, mainFailed                              int
	okBy                                            map[string]int // mains succeeded per service
}

func (f *figures) add(g figures) {
	f.schedules += g.schedules
	f.jobs += g.jobs
	f.requests += g.requests
	f.faults += g.faults
	f.kills += g.kills
	f.lates += g.lates
	f.foreignRevocations += g.foreignRevocations
	f.orphans += g.orphans
	f.warnedSurvivors += g.warnedSurvivors
	f.mainOK += g.mainOK
	f.mainFailed += g.mainFailed
	if f.okBy == nil {
		f.okBy = map[string]int{}
	}
	for k, v := range g.okBy {
		f.okBy[k] += v
	}
}

func TestOwnershipModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_007
	}
	n := *modelSchedules
	if testing.Short() {
		n = min(n, 100)
	}
	var total figures
	for i := range n {
		s := seed + int64(i)
		g, problems := runSchedule(t, s)
		total.add(g)
		if len(problems) > 0 {
			t.Fatalf("schedule with seed %d broke ownership (rerun: go test ./internal/action -run TestOwnershipModel -model.seed=%d -model.schedules=1 -model.v):\n%s",
				s, s, strings.Join(problems, "\n"))
		}
		if *modelVerbose {
			t.Logf("seed %d: %+v", s, g)
		}
	}
	t.Logf("ownership model: seeds %d..%d: %d schedules, %d jobs, %d requests, %d faults injected, %d mains killed, %d late commits, %d mains succeeded, %d failed; foreign revocations %d, orphans %d, warned survivors %d; mains succeeded per service %v",
		seed, seed+int64(n)-1, total.schedules, total.jobs, total.requests, total.faults, total.kills, total.lates, total.mainOK, total.mainFailed,
		total.foreignRevocations, total.orphans, total.warnedSurvivors, total.okBy)
}

// ---- the scheduler: one job runs at a time; at each request the seed
// picks which parked job goes next.

type sched struct {
	mu     sync.Mutex
	rng    *rand.Rand
	active int
	parked map[int]chan struct{}
}

func (s *sched) park(job int) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.parked[job] = ch
	s.active--
	s.release()
	s.mu.Unlock()
	<-ch
}

func (s *sched) exit() {
	s.mu.Lock()
	s.active--
	s.release()
	s.mu.Unlock()
}

// release wakes one parked job, chosen by the seed, once nobody runs.
func (s *sched) release() {
	if s.active > 0 || len(s.parked) == 0 {
		return
	}
	keys := make([]int, 0, len(s.parked))
	for k := range s.parked {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	k := keys[s.rng.Intn(len(keys))]
	ch := s.parked[k]
	delete(s.parked, k)
	s.active++
	close(ch)
}

// ---- the world: one shared fake, its history, and the jobs.

type service struct {
	name   string
	server *fake.Server
	inputs map[string]string
	// creates lists the create route; lists the list route.
	create, list, revoke string
}

func newService(kind int, r *rand.Rand) service { //nolint:gocyclo // one case per service
	switch kind {
	case 0:
		scopes := faketooken.AdminScopes
		if r.Intn(4) == 0 {
			// The README's example key: it may not list (tokens:read).
			scopes = []string{"tokens:write", "tokens:revoke"}
		}
		f := faketooken.New(modelTookenKey, scopes)
		return service{name: "tooken", server: f.Server, create: "POST /v1/tokens", list: "GET /v1/tokens", revoke: "DELETE /v1/tokens/{id}",
			inputs: map[string]string{"provider": "tooken", "admin-key": modelTookenKey, "api-url": "http://127.0.0.1:9/v1", "scopes": "tokens:read"}}
	case 1:
		f := fakehookbase.New(modelHookKey, nil, fakehookbase.Options{})
		return service{name: "hookbase", server: f.Server, create: fakehookbase.RouteCreate, list: fakehookbase.RouteList, revoke: fakehookbase.RouteDelete,
			inputs: map[string]string{"provider": "hookbase", "admin-key": modelHookKey, "api-url": "http://127.0.0.1:9", "scopes": "read"}}
	case 3, 4:
		// The generic rest provider over the Tooken fake; kind 4's profile
		// has no list section: lost creates cannot be attributed at all.
		f := faketooken.New(modelTookenKey, nil)
		profile, name := restProfile, "rest"
		if kind == 4 {
			profile, name = restProfile[:strings.Index(restProfile, "list:")], "rest-no-list"
		}
		return service{name: name, server: f.Server, create: "POST /v1/tokens", list: "GET /v1/tokens", revoke: "DELETE /v1/tokens/{id}",
			inputs: map[string]string{"provider": "rest", "admin-key": modelTookenKey, "api-url": "http://127.0.0.1:9/v1", "scopes": "tokens:read",
				"provider-config": profile}}
	default:
		f := fakegroo.New(modelGrooID, modelGrooKey)
		return service{name: "groo", server: f.Server, create: fakegroo.RouteCreate, list: fakegroo.RouteList, revoke: fakegroo.RouteRevoke,
			inputs: map[string]string{"provider": "groo", "admin-key": modelGrooKey, "client-id": modelGrooID, "api-url": "http://127.0.0.1:9"}}
	}
}

type world struct {
	t     testing.TB
	svc   service
	sched *sched
	rng   *rand.Rand // only the running job draws from it
	fig   figures

	mu      sync.Mutex
	creator map[string]int // token ID → job (-1: someone else, before the schedule)
	revoker map[string]int // token ID → job that revoked it
	late    []lateWork
}

type lateWork struct {
	job int
	req *http.Request
}

// snapshot returns the live token IDs.
func (w *world) live() map[string]bool {
	out := map[string]bool{}
	for _, r := range w.svc.server.Store.Live() {
		out[r.ID] = true
	}
	return out
}

func (w *world) all() map[string]bool {
	out := map[string]bool{}
	for _, r := range w.svc.server.Store.All() {
		out[r.ID] = true
	}
	return out
}

// account attributes what a request (or a late commit) changed.
func (w *world) account(job int, beforeAll, beforeLive map[string]bool) {
	afterLive := w.live()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.svc.server.Store.All() {
		if !beforeAll[r.ID] {
			w.creator[r.ID] = job
		}
	}
	for id := range beforeLive {
		if !afterLive[id] {
			w.revoker[id] = job
		}
	}
}

// do sends req through the fake as job, with a fault when the seed says
// so; it may also commit a held late create first.
func (w *world) do(job int, req *http.Request, fault *fake.Fault) (*http.Response, error) {
	beforeAll, beforeLive := w.all(), w.live()
	if fault != nil {
		w.svc.server.Push(w.svc.server.Route(req), *fault)
	}
	resp, err := w.svc.server.Transport().RoundTrip(req)
	w.account(job, beforeAll, beforeLive)
	return resp, err
}

// commitLate performs held creates of job (every one when job < 0).
func (w *world) commitLate(job int) {
	w.mu.Lock()
	var keep, run []lateWork
	for _, l := range w.late {
		if job < 0 || l.job == job {
			run = append(run, l)
		} else {
			keep = append(keep, l)
		}
	}
	w.late = keep
	w.mu.Unlock()
	for _, l := range run {
		resp, err := w.do(l.job, l.req, nil)
		if err == nil {
			resp.Body.Close()
		}
		w.fig.lates++
	}
}

// pickFault draws a fault for a request to route (nil: none).
func (w *world) pickFault(route string, phase string) (*fake.Fault, bool) {
	if w.rng.Float64() >= 0.3 {
		return nil, false
	}
	switch route {
	case w.svc.create:
		switch w.rng.Intn(8) {
		case 0:
			return &fake.Fault{Status: 502, Body: `{"error":"bad gateway"}`}, false
		case 1:
			return &fake.Fault{After: true, Status: 500, Body: `{"error":"internal_error"}`}, false
		case 2:
			return &fake.Fault{Drop: true}, false
		case 3:
			return &fake.Fault{After: true, Drop: true}, false
		case 4:
			return &fake.Fault{Delay: time.Minute}, false // answered after the timeout, nothing done
		case 5:
			return &fake.Fault{After: true, Delay: time.Minute}, false
		case 6:
			return nil, true // held past the timeout, committed late
		default:
			return &fake.Fault{Status: 409, Body: `{"error":"conflict","message":"A token with this name already exists"}`}, false
		}
	case w.svc.list:
		switch w.rng.Intn(3) {
		case 0:
			return &fake.Fault{Status: 403, Body: `{"error":"forbidden","message":"API key lacks the read scope"}`}, false
		case 1:
			return &fake.Fault{Status: 503}, false
		default:
			return &fake.Fault{Drop: true}, false
		}
	default:
		switch w.rng.Intn(3) {
		case 0:
			return &fake.Fault{Status: 502}, false
		case 1:
			return &fake.Fault{After: true, Drop: true}, false
		default:
			return &fake.Fault{Status: 403, Body: `{"error":"forbidden"}`}, false
		}
	}
}

// jobTransport is one job's view of the network.
type jobTransport struct {
	w     *world
	job   int
	phase *string
	// killAt is the main request at which the process is SIGKILLed (0:
	// never); killAfter: after the service did the work.
	killAt    int
	killAfter bool
	n         int
	killed    *bool
}

func (jt *jobTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := jt.w
	w.sched.park(jt.job)
	// Now this job alone runs.
	if w.rng.Intn(8) == 0 {
		w.commitLate(-1) // some held create commits now
	}
	w.fig.requests++
	route := w.svc.server.Route(req)
	if *jt.phase == "main" {
		jt.n++
		if jt.n == jt.killAt {
			*jt.killed = true
			w.fig.kills++
			if jt.killAfter {
				if resp, err := w.do(jt.job, req, nil); err == nil {
					resp.Body.Close()
				}
			}
			runtime.Goexit() // SIGKILL: nothing more of this phase runs
		}
	}
	fault, late := w.pickFault(route, *jt.phase)
	if late && route == w.svc.create {
		w.fig.faults++
		body, _ := readBody(req)
		r2 := req.Clone(context.Background())
		r2.Body = newBody(body)
		w.mu.Lock()
		w.late = append(w.late, lateWork{job: jt.job, req: r2})
		w.mu.Unlock()
		return nil, fake.ErrTimedOut
	}
	if fault != nil {
		w.fig.faults++
	}
	return w.do(jt.job, req, fault)
}

// ---- one schedule.

type job struct {
	id         int
	dir        string
	inputs     map[string]string
	phase      string
	killed     bool
	mainErr    error
	mainOut    bytes.Buffer
	postOut    bytes.Buffer
	tokenID    string
	heldAtPost bool
	state      map[string]string
	outputs    map[string]string
	transport  *jobTransport
}

func runSchedule(t testing.TB, seed int64) (figures, []string) {
	r := rand.New(rand.NewSource(seed))
	svc := newService(r.Intn(5), r)
	w := &world{t: t, svc: svc, rng: r, creator: map[string]int{}, revoker: map[string]int{},
		sched: &sched{rng: r, parked: map[int]chan struct{}{}}}
	clock := fake.NewClock(time.Now().UTC().Truncate(time.Second))
	svc.server.Store.Now = time.Now

	// Someone else's tokens, made before: under the shared explicit name
	// exactly, under the default prefix exactly, and under names shaped
	// like another run's (prefix-<nonce>).
	prefix := "tokenmint-acme-web-build-777-1"
	for i, name := range []string{"shared", prefix, prefix + "-abcdefghijklm", "shared-mnopqrstuvwxy", "shared-mnopqrstuvwxy-2"} {
		rec := svc.server.Store.Add(fake.Record{ID: fmt.Sprintf("foreign_%d", i), Name: name, Secret: "foreign-secret", Scopes: []string{"read"},
			ExpiresAt: time.Now().Add(time.Hour)})
		w.creator[rec.ID] = -1
	}

	n := 2 + r.Intn(7)
	jobs := make([]*job, n)
	base, err := os.MkdirTemp("", "tokenmint-model-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	for i := range jobs {
		j := &job{id: i, dir: filepath.Join(base, fmt.Sprintf("j%d", i)), inputs: map[string]string{}}
		for k, v := range svc.inputs {
			j.inputs[k] = v
		}
		switch r.Intn(3) {
		case 0: // default name: every leg of the matrix shares the prefix
		case 1:
			j.inputs["name"] = "shared" // the same explicit name everywhere
		default:
			j.inputs["name"] = fmt.Sprintf("job-%d", i)
		}
		j.transport = &jobTransport{w: w, job: i, phase: &j.phase, killed: &j.killed}
		if r.Intn(5) == 0 {
			j.transport.killAt = 1 + r.Intn(4)
			j.transport.killAfter = r.Intn(2) == 0
		}
		if err := os.MkdirAll(j.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"state", "output", "env", "summary"} {
			if err := os.WriteFile(filepath.Join(j.dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		jobs[i] = j
	}
	w.fig = figures{schedules: 1, jobs: n, okBy: map[string]int{}}

	w.sched.active = n
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.sched.exit()
			runJob(w, j, clock)
		}()
	}
	wg.Wait()
	w.commitLate(-1) // nothing stays held forever (counted below if orphaned)

	// Invariants.
	var problems []string
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, rv := range w.revoker {
		if c := w.creator[id]; c != rv {
			w.fig.foreignRevocations++
			problems = append(problems, fmt.Sprintf("token %s made by job %d was revoked by job %d", id, c, rv))
		}
	}
	for _, j := range jobs {
		switch {
		case j.mainErr == nil && !j.killed:
			w.fig.mainOK++
			w.fig.okBy[svc.name]++
			if !j.heldAtPost {
				problems = append(problems, fmt.Sprintf("job %d: main succeeded with token %q, which was not live when its post began", j.id, j.tokenID))
			}
		default:
			w.fig.mainFailed++
		}
	}
	for _, rec := range svc.server.Store.Live() {
		c, ok := w.creator[rec.ID]
		if !ok || c < 0 {
			continue
		}
		j := jobs[c]
		warned := false
		for _, line := range strings.Split(j.mainOut.String()+j.postOut.String(), "\n") {
			if strings.HasPrefix(line, "::warning::") && (strings.Contains(line, rec.Name) || strings.Contains(line, rec.ID)) {
				warned = true
			}
		}
		if warned {
			w.fig.warnedSurvivors++
			continue
		}
		w.fig.orphans++
		problems = append(problems, fmt.Sprintf("job %d left token %s (%q) live without a warning naming it\n--- main (killed %v, err %v):\n%s--- ledger in state: %s\n--- post:\n%s",
			c, rec.ID, rec.Name, j.killed, j.mainErr, j.mainOut.String(), j.state["ledger"], j.postOut.String()))
	}
	for i := range 5 {
		if rec, _ := svc.server.Store.Get(fmt.Sprintf("foreign_%d", i)); !rec.Live(time.Now()) {
			problems = append(problems, fmt.Sprintf("someone else's token %s (%q) was revoked", rec.ID, rec.Name))
		}
	}
	return w.fig, problems
}

func runJob(w *world, j *job, clock *fake.Clock) {
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/web", "GITHUB_RUN_ID": "777", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_JOB": "build", "GITHUB_ACTION": "mint", "GITHUB_WORKSPACE": j.dir,
		"GITHUB_STATE": filepath.Join(j.dir, "state"), "GITHUB_OUTPUT": filepath.Join(j.dir, "output"),
		"GITHUB_ENV": filepath.Join(j.dir, "env"), "GITHUB_STEP_SUMMARY": filepath.Join(j.dir, "summary"),
	}
	for k, v := range j.inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	rt := func(out *bytes.Buffer, state map[string]string) *action.Runtime {
		return &action.Runtime{
			Getenv: func(k string) string {
				if v, ok := state[strings.TrimPrefix(k, "STATE_")]; ok && strings.HasPrefix(k, "STATE_") {
					return v
				}
				return env[k]
			},
			Stdout:     out,
			HTTPClient: &http.Client{Transport: j.transport},
			Now:        clock.Now,
			Backoff:    time.Microsecond,
		}
	}
	// Main, in its own goroutine so that a SIGKILL (Goexit) ends only it.
	j.phase = "main"
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.mainErr = action.Main(context.Background(), rt(&j.mainOut, nil))
	}()
	<-done
	state, err := e2e.ParseFileCommands(filepath.Join(j.dir, "state"))
	if err != nil {
		w.t.Errorf("job %d: state: %v", j.id, err)
	}
	j.state = state
	j.outputs, _ = e2e.ParseFileCommands(filepath.Join(j.dir, "output"))
	j.tokenID = j.outputs["token-id"]

	// Between the phases other jobs run; then the held creates of this job
	// commit (the service is done with them before the job ends).
	j.phase = "between"
	w.sched.park(j.id)
	w.commitLate(j.id)
	if j.mainErr == nil && !j.killed {
		rec, ok := w.svc.server.Store.Get(j.tokenID)
		j.heldAtPost = ok && rec.Live(time.Now())
	}
	j.phase = "post"
	if err := action.Post(context.Background(), rt(&j.postOut, state)); err != nil && !errors.Is(err, action.ErrFailed) {
		w.t.Errorf("job %d: post: %v", j.id, err)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	_ = r.Body.Close()
	r.Body = newBody(b.Bytes())
	return b.Bytes(), err
}

type body struct{ *bytes.Reader }

func (body) Close() error { return nil }

func newBody(b []byte) body { return body{bytes.NewReader(b)} }

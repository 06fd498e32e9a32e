package fake_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// TestTransport_Faults: each fault reaches the client as documented, and
// the work is done exactly when it says so.
func TestTransport_Faults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		fault      *fake.Fault
		wantStatus int
		wantErr    error
		wantDone   int
	}{
		{name: "none", wantStatus: 201, wantDone: 1},
		{name: "status_before", fault: &fake.Fault{Status: 502}, wantStatus: 502, wantDone: 0},
		{name: "status_after", fault: &fake.Fault{After: true, Status: 500}, wantStatus: 500, wantDone: 1},
		{name: "drop_before", fault: &fake.Fault{Drop: true}, wantErr: fake.ErrDropped, wantDone: 0},
		{name: "drop_after", fault: &fake.Fault{After: true, Drop: true}, wantErr: fake.ErrDropped, wantDone: 1},
		{name: "timeout_before", fault: &fake.Fault{Delay: time.Hour}, wantErr: fake.ErrTimedOut, wantDone: 0},
		{name: "timeout_after", fault: &fake.Fault{After: true, Delay: time.Hour}, wantErr: fake.ErrTimedOut, wantDone: 1},
		{name: "raw_body", fault: &fake.Fault{RawBody: "{"}, wantStatus: 201, wantDone: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fake.NewServer()
			done := 0
			s.Handle("POST /items/{id}", func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if string(b) != "payload" || r.PathValue("id") != "7" {
					t.Errorf("handler saw body %q, id %q", b, r.PathValue("id"))
				}
				done++
				w.WriteHeader(201)
				_, _ = w.Write([]byte(`{"ok":true}`))
			})
			req, _ := http.NewRequest(http.MethodPost, "http://fake.invalid/items/7", strings.NewReader("payload"))
			if got := s.Route(req); got != "POST /items/{id}" {
				t.Fatalf("Route = %q", got)
			}
			if tc.fault != nil {
				s.Push("POST /items/{id}", *tc.fault)
			}
			resp, err := (&http.Client{Transport: s.Transport()}).Do(req)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("Do: %v", err)
			default:
				defer resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
				}
			}
			if done != tc.wantDone {
				t.Errorf("work done %d times, want %d", done, tc.wantDone)
			}
			if s.Count("POST /items/{id}") != 1 {
				t.Errorf("count = %d", s.Count("POST /items/{id}"))
			}
		})
	}
}

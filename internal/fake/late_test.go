package fake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// TestFault_Late: a held request is performed after the client gave up.
func TestFault_Late(t *testing.T) {
	t.Parallel()
	s := fake.NewServer()
	done := make(chan string, 1)
	s.Handle("POST /x", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		buf := make([]byte, 64)
		n, _ := r.Body.Read(buf)
		b.Write(buf[:n])
		done <- b.String()
		w.WriteHeader(201)
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.Push("POST /x", fake.Fault{Late: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/x", strings.NewReader("body"))
	if _, err := srv.Client().Do(req); err == nil {
		t.Fatal("the held request was answered")
	}
	select {
	case got := <-done:
		if got != "body" {
			t.Errorf("late work saw body %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the late work never ran")
	}
	for i := 0; i < 1000 && s.LateCommits() == 0; i++ {
		time.Sleep(time.Millisecond)
	}
	if s.LateCommits() != 1 {
		t.Errorf("LateCommits = %d", s.LateCommits())
	}
}

package httpx_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/httpx"
)

// Every retry is announced before its wait, with the attempt that failed.
func TestDo_OnRetry(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, reply{status: 503}, reply{status: 502}, reply{status: 200, body: `{}`})
	clk := fake.NewClock(epoch)
	var got []httpx.Retry
	c := newClient(srv, clk, httpx.WithOnRetry(func(r httpx.Retry) { got = append(got, r) }))
	if _, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodGet, URL: srv.URL + "/x"}); err != nil {
		t.Fatal(err)
	}
	var attempts []int
	for _, r := range got {
		attempts = append(attempts, r.Attempt)
		if r.Service != "Test API" || r.Method != http.MethodGet || r.Err == nil || r.Wait <= 0 {
			t.Errorf("retry %+v lacks service, method, error or wait", r)
		}
	}
	if diff := cmp.Diff([]int{1, 2}, attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	for i, w := range clk.Waits() {
		if w != got[i].Wait {
			t.Errorf("announced wait %s, slept %s", got[i].Wait, w)
		}
	}
}

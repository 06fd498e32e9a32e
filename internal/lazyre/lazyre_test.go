package lazyre

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRegexp(t *testing.T) {
	r := New(`^line (\d+): (\w+)$`)
	if got := r.String(); got != `^line (\d+): (\w+)$` {
		t.Errorf("String() = %q", got)
	}
	if !r.MatchString("line 3: x") || r.MatchString("line x: 3") {
		t.Error("MatchString disagrees with the expression")
	}
	if diff := cmp.Diff([]string{"line 12: ab", "12", "ab"}, r.FindStringSubmatch("line 12: ab")); diff != "" {
		t.Errorf("FindStringSubmatch (-want +got):\n%s", diff)
	}
	if got := New(`[^a-z]+`).ReplaceAllString("a1b--c", "_"); got != "a_b_c" {
		t.Errorf("ReplaceAllString = %q", got)
	}
	first, second := r.Regexp(), r.Regexp()
	if first != second {
		t.Error("compiled more than once")
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	r := New(`^[a-z]{1,50}$`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !r.MatchString("abc") {
				t.Error("no match")
			}
		})
	}
	wg.Wait()
}

func TestInvalidPanicsOnFirstUse(t *testing.T) {
	r := New(`(`) // no panic here
	defer func() {
		if recover() == nil {
			t.Error("an invalid expression did not panic on first use")
		}
	}()
	r.MatchString("x")
}

package inputerr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/inputerr"
)

func TestError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  *inputerr.Error
		want string
	}{
		{"plain", inputerr.New("ttl", "must be more than 0"), `input "ttl": must be more than 0`},
		{"formatted", inputerr.New("scopes", "item %d is not a %s scope", 2, "tooken"), `input "scopes": item 2 is not a tooken scope`},
		{"literal", &inputerr.Error{Input: "admin-key", Rule: "is required"}, `input "admin-key": is required`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Fatalf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	a := inputerr.New("provider", "is required")
	b := inputerr.New("ttl", "must be more than 0")
	c := inputerr.New("name", "too long")
	other := errors.New("failed to read profile")
	cases := []struct {
		name       string
		err        error
		wantInputs []string
		wantRest   []string
	}{
		{name: "nil", err: nil},
		{name: "single", err: a, wantInputs: []string{"provider"}},
		{name: "wrapped", err: fmt.Errorf("failed to parse: %w", b), wantInputs: []string{"ttl"}},
		{name: "joined_in_order", err: errors.Join(a, b, c), wantInputs: []string{"provider", "ttl", "name"}},
		{name: "nested_join", err: errors.Join(a, errors.Join(b, other), c), wantInputs: []string{"provider", "ttl", "name"}, wantRest: []string{"failed to read profile"}},
		{name: "other_only", err: other, wantRest: []string{"failed to read profile"}},
		{name: "wrapped_join", err: fmt.Errorf("failed: %w", errors.Join(a, b)), wantInputs: []string{"provider", "ttl"}},
		{name: "wrapped_join_with_other", err: fmt.Errorf("failed: %w", errors.Join(other, b)), wantInputs: []string{"ttl"}, wantRest: []string{"failed to read profile"}},
		{name: "wrapped_other", err: fmt.Errorf("failed: %w", other), wantRest: []string{"failed: failed to read profile"}},
		{name: "same_problem_twice_is_one", err: errors.Join(a, b, inputerr.New("provider", "is required"), fmt.Errorf("check: %w", b)), wantInputs: []string{"provider", "ttl"}},
		{name: "same_input_other_rule_is_two", err: errors.Join(b, inputerr.New("ttl", "must be at most 90 days")), wantInputs: []string{"ttl", "ttl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inputs, rest := inputerr.List(tc.err)
			var gotInputs, gotRest []string
			for _, e := range inputs {
				gotInputs = append(gotInputs, e.Input)
			}
			for _, e := range rest {
				gotRest = append(gotRest, e.Error())
			}
			if diff := cmp.Diff(tc.wantInputs, gotInputs); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRest, gotRest); diff != "" {
				t.Errorf("rest (-want +got):\n%s", diff)
			}
		})
	}
}

package rest_test

import (
	"testing"

	"github.com/tokenmint/tokenmint/internal/provider/providertest"
)

func conformanceHarnesses(t *testing.T) []providertest.Harness {
	return []providertest.Harness{tookenHarness(t)}
}

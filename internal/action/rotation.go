package action

import (
	"context"
	"errors"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// rotateSecrets writes the token into the configured secrets (rotation
// mode) and retires earlier tokens of the rotation.
func rotateSecrets(ctx context.Context, rt *Runtime, cfg *config.Config, p provider.Provider, tok *provider.Token) ([]targetResult, error) {
	return nil, errors.New("rotation mode is not wired yet")
}

// dryRun validates and prints the plan without minting.
func dryRun(ctx context.Context, rt *Runtime, cfg *config.Config) error {
	rt.infof("dry-run: would mint a %s token named %q with ttl %s", cfg.Provider, cfg.Name, cfg.TTL)
	return nil
}

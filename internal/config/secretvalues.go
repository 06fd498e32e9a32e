package config

// SecretValues returns the secrets the raw value of a Secret input holds,
// each of which the action masks (and announces) before any other line:
// the value itself. An input that carries several secrets in one value
// (for example a list or map of them) returns each one as well, so every
// secret goes through the same announce path.
func SecretValues(in Input, raw string) []string {
	if !in.Secret || raw == "" {
		return nil
	}
	if in.Name == "provider-secrets" {
		// NAME=value lines: the whole, each line and each value.
		return append([]string{raw}, ProviderSecretValues(raw)...)
	}
	return []string{raw}
}

package githubapp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"

	"github.com/tokenmint/tokenmint/internal/inputerr"
)

// MinKeyBits is the smallest RSA key accepted (GitHub issues 2048-bit keys).
const MinKeyBits = 2048

// ParsePrivateKey parses a GitHub App private key: an RSA key in PEM, PKCS#1
// ("RSA PRIVATE KEY", what GitHub downloads) or PKCS#8 ("PRIVATE KEY").
// Escaped newlines (a literal backslash-n, as secrets pasted into one line
// often carry) are accepted, as are CRLF line ends and surrounding space.
// Anything else is an *inputerr.Error on admin-key that says what was
// found, never any part of the value.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	s = normalizePEM(s)
	if s == "" {
		return nil, inputerr.New("admin-key", "is required: the GitHub App's private key (PEM)")
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, inputerr.New("admin-key", "is not a PEM private key: paste the whole .pem file the GitHub App settings page downloads, from -----BEGIN RSA PRIVATE KEY----- to its END line")
	}
	if strings.Contains(string(rest), "-----BEGIN") {
		return nil, inputerr.New("admin-key", "holds more than one PEM block: give only the App's private key")
	}
	if _, enc := block.Headers["Proc-Type"]; enc || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, inputerr.New("admin-key", "is an encrypted private key: GitHub App keys are not encrypted; give the key as downloaded")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, inputerr.New("admin-key", "is an RSA PRIVATE KEY block that does not parse as PKCS#1: the key is damaged or truncated")
		}
		return checkRSA(k)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, inputerr.New("admin-key", "is a PRIVATE KEY block that does not parse as PKCS#8: the key is damaged or truncated")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, inputerr.New("admin-key", "is a PKCS#8 key that is not RSA: GitHub App keys are RSA (RS256)")
		}
		return checkRSA(rk)
	case "EC PRIVATE KEY":
		return nil, inputerr.New("admin-key", "is an EC key: GitHub App keys are RSA (RS256)")
	case "OPENSSH PRIVATE KEY":
		return nil, inputerr.New("admin-key", "is an OpenSSH key: give the GitHub App's private key (.pem), not an SSH key")
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, inputerr.New("admin-key", "is a public key or certificate: give the GitHub App's private key")
	default:
		return nil, inputerr.New("admin-key", "is a PEM block that is not a private key: give the GitHub App's private key (RSA PRIVATE KEY or PRIVATE KEY)")
	}
}

func checkRSA(k *rsa.PrivateKey) (*rsa.PrivateKey, error) {
	if k.N.BitLen() < MinKeyBits {
		return nil, inputerr.New("admin-key", "is an RSA key shorter than %d bits: GitHub App keys are %d bits or more", MinKeyBits, MinKeyBits)
	}
	if err := k.Validate(); err != nil {
		return nil, inputerr.New("admin-key", "is an RSA key that fails validation: the key is damaged")
	}
	return k, nil
}

// normalizePEM turns escaped newlines into real ones and trims each line.
func normalizePEM(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, `\r\n`, "\n")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

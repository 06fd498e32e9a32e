package ghapp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Key is an RSA key pair for a fake App, with its PEM encodings.
type Key struct {
	Private *rsa.PrivateKey
}

// GenerateKey makes a new 2048-bit key (about a tenth of a second).
func GenerateKey() (*Key, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("failed to generate an RSA key: %w", err)
	}
	return &Key{Private: k}, nil
}

var (
	testKeys   [2]*Key
	testKeyErr [2]error
	testOnce   [2]sync.Once
)

// TestKey returns a process-wide key, generated once: tests and benchmarks
// share it instead of paying for a key each. n selects one of two distinct
// keys (0 or 1: the second is "another App's key").
func TestKey(n int) *Key {
	testOnce[n].Do(func() { testKeys[n], testKeyErr[n] = GenerateKey() })
	if testKeyErr[n] != nil {
		panic(testKeyErr[n])
	}
	return testKeys[n]
}

// PKCS1PEM is the key as GitHub downloads it ("RSA PRIVATE KEY").
func (k *Key) PKCS1PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Private)}))
}

// PKCS8PEM is the key as "PRIVATE KEY" (openssl pkcs8 -nocrypt).
func (k *Key) PKCS8PEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// EscapedPEM is the PKCS#1 PEM on one line with literal \n sequences, as
// secrets pasted into a single-line field carry it.
func (k *Key) EscapedPEM() string {
	return strings.ReplaceAll(strings.TrimRight(k.PKCS1PEM(), "\n"), "\n", `\n`)
}

// WriteFile writes the PKCS#1 PEM to dir/name with mode 0600 and returns
// the path (for processes started by benchmarks and end-to-end tests).
func (k *Key) WriteFile(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(k.PKCS1PEM()), 0o600); err != nil {
		return "", fmt.Errorf("failed to write the key: %w", err)
	}
	return p, nil
}

package action

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tokenmint/tokenmint/internal/lazyre"
)

// ErrDelimiter is returned when a key or value contains the delimiter
// chosen for its write (a value crafted to end the heredoc early).
var ErrDelimiter = errors.New("value contains the file-command delimiter")

var fileKey = lazyre.New(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// FileCommands appends to the runner's file commands (GITHUB_OUTPUT,
// GITHUB_ENV, GITHUB_STATE) safely: every write uses a fresh random
// delimiter, as the JavaScript toolkit does, and refuses keys or values
// that contain it. go-githubactions' fixed delimiter
// ("_GitHubActionsFileCommandDelimeter_") would let a value from a server
// end the heredoc and set any variable for later steps.
type FileCommands struct {
	Getenv func(string) string
	// Delimiter returns a delimiter (tests pin it). Default: random.
	Delimiter func() string
}

func randomDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "ghadelimiter_" + hex.EncodeToString(b)
}

// Output sets a step output.
func (f *FileCommands) Output(key, value string) error { return f.write("GITHUB_OUTPUT", key, value) }

// Env sets an environment variable for later steps.
func (f *FileCommands) Env(key, value string) error { return f.write("GITHUB_ENV", key, value) }

// State saves a value for the post phase (read back as STATE_<key>).
func (f *FileCommands) State(key, value string) error { return f.write("GITHUB_STATE", key, value) }

// Summary appends Markdown to the job summary.
func (f *FileCommands) Summary(markdown string) error {
	path := f.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	return appendFile(path, markdown)
}

// Format renders one entry, or fails when key or value is unsafe.
func Format(key, value, delim string) (string, error) {
	if !fileKey.MatchString(key) {
		return "", fmt.Errorf("failed to write file command: key %q is not a valid name", key)
	}
	if strings.Contains(key, delim) || strings.Contains(value, delim) {
		return "", fmt.Errorf("failed to write file command %s: %w", key, ErrDelimiter)
	}
	return key + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
}

func (f *FileCommands) write(file, key, value string) error {
	path := f.Getenv(file)
	if path == "" {
		return fmt.Errorf("failed to write %s: %s is not set (not running as a GitHub Action?)", key, file)
	}
	delim := randomDelimiter()
	if f.Delimiter != nil {
		delim = f.Delimiter()
	}
	entry, err := Format(key, value, delim)
	if err != nil {
		return err
	}
	return appendFile(path, entry)
}

func appendFile(path, s string) error {
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644) //nolint:gosec // the runner names this file (GITHUB_OUTPUT/ENV/STATE/STEP_SUMMARY)
	if err != nil {
		return fmt.Errorf("failed to open file command file: %w", err)
	}
	if _, err := fh.WriteString(s); err != nil {
		_ = fh.Close()
		return fmt.Errorf("failed to write file command file: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("failed to close file command file: %w", err)
	}
	return nil
}

package githubapp

import (
	"errors"
	"strings"

	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/lazyre"
)

// MaxRepositories is how many repositories one installation token can name.
const MaxRepositories = 500

var (
	ownerRE = lazyre.New(`^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,98})$`)
	repoRE  = lazyre.New(`^[A-Za-z0-9._-]{1,100}$`)
)

// ResolveTarget applies create-github-app-token's defaults to the owner and
// repositories inputs. currentRepository is GITHUB_REPOSITORY (owner/repo).
//
//   - neither set: the current repository (owner and that one repository);
//   - owner only: every repository of owner's installation (nil list);
//   - repositories only: those, in the current repository's owner — or in
//     the owner their owner/name forms all name;
//   - both: those repositories in owner.
//
// Repositories may be written owner/name when owner matches (compared
// case-insensitively); the prefix is stripped. Duplicates are dropped.
// Errors are *inputerr.Error on owner or repositories, joined.
func ResolveTarget(owner string, repositories []string, currentRepository string) (string, []string, error) {
	owner = strings.TrimSpace(owner)
	if owner == "" {
		curOwner, curRepo, ok := strings.Cut(strings.TrimSpace(currentRepository), "/")
		if len(repositories) == 0 {
			if !ok || curOwner == "" || curRepo == "" {
				return "", nil, inputerr.New("owner", "is required when GITHUB_REPOSITORY is not set (outside GitHub Actions): set owner, and repositories to narrow the token")
			}
			return curOwner, []string{curRepo}, nil
		}
		// Repositories only: owner/name forms may name the owner.
		owner = commonOwner(repositories)
		if owner == "" {
			if !ok || curOwner == "" {
				return "", nil, inputerr.New("owner", "is required: the repositories do not name their owner and GITHUB_REPOSITORY is not set")
			}
			owner = curOwner
		}
	}
	if !ownerRE.MatchString(owner) {
		return "", nil, inputerr.New("owner", "must be a GitHub user or organization login (letters, digits, '-')")
	}
	repos, err := NormalizeRepositories(owner, repositories)
	if err != nil {
		return "", nil, err
	}
	return owner, repos, nil
}

// commonOwner returns the owner every owner/name entry names, or "" when
// some entry is a bare name or they disagree.
func commonOwner(repositories []string) string {
	var owner string
	for _, r := range repositories {
		o, _, ok := strings.Cut(strings.TrimSpace(r), "/")
		if !ok {
			return ""
		}
		if owner != "" && !strings.EqualFold(owner, o) {
			return ""
		}
		if owner == "" {
			owner = o
		}
	}
	return owner
}

// NormalizeRepositories strips a matching owner/ prefix from each entry,
// drops duplicates and checks names and the count (≤ MaxRepositories).
func NormalizeRepositories(owner string, repositories []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var errs []error
	for i, r := range repositories {
		r = strings.TrimSpace(r)
		if o, name, ok := strings.Cut(r, "/"); ok {
			if owner == "" {
				errs = append(errs, inputerr.New("repositories", "entry %d names an owner but owner is not resolved: set owner", i+1))
				continue
			}
			if !strings.EqualFold(o, owner) {
				errs = append(errs, inputerr.New("repositories", "entry %d names another owner than %s: one installation token covers repositories of one owner", i+1, owner))
				continue
			}
			r = name
		}
		if !repoRE.MatchString(r) || r == "." || r == ".." {
			errs = append(errs, inputerr.New("repositories", "entry %d is not a repository name (letters, digits, '.', '-', '_'; optionally owner/name)", i+1))
			continue
		}
		if k := strings.ToLower(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	if len(out) > MaxRepositories {
		errs = append(errs, inputerr.New("repositories", "names %d repositories; an installation token can name at most %d (leave repositories empty for all of the installation's)", len(out), MaxRepositories))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

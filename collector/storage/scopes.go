package storage

import (
	"fmt"
	"slices"
	"strings"
)

// What an API token may do (migration 0024). Each /v1 endpoint needs one of them; none
// implies another.
const (
	ScopeReadReports   = "read:reports"   // reports, comments, cases (without contacts)
	ScopeReadResponses = "read:responses" // GET /v1/responses
	ScopeReadContacts  = "read:contacts"  // shoppers' contacts, wherever a reply has them
	ScopeWriteCases    = "write:cases"    // change cases, send invitations
	ScopeAdmin         = "admin"          // erasure and other administration
)

// Scopes lists every scope, in the order tokens show them.
func Scopes() []string {
	return []string{ScopeReadReports, ScopeReadResponses, ScopeReadContacts, ScopeWriteCases, ScopeAdmin}
}

// DefaultScopes are what a token made without scopes gets: what every token could do
// before tokens had scopes (reports, comments and cases with their contacts, case
// changes, invitations), which tokens of that time were given in migration 0024.
func DefaultScopes() []string {
	return []string{ScopeReadReports, ScopeReadContacts, ScopeWriteCases}
}

// ParseScopes reads scopes as flags and forms give them: each value one scope or several
// separated by commas or spaces. It drops repeats, puts them in the order of Scopes, and
// refuses an unknown one with ErrInvalid. None at all is DefaultScopes.
func ParseScopes(values ...string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !slices.Contains(Scopes(), s) {
				return nil, fmt.Errorf("%w: unknown scope %q: use %s", ErrInvalid, s, strings.Join(Scopes(), ", "))
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return DefaultScopes(), nil
	}
	all := Scopes()
	slices.SortFunc(out, func(a, b string) int { return slices.Index(all, a) - slices.Index(all, b) })
	return slices.Compact(out), nil
}

// scopesColumn is api_tokens.scopes: space-separated.
func scopesColumn(scopes []string) string { return strings.Join(scopes, " ") }

func scopesOfColumn(s string) []string {
	out := strings.Fields(s)
	if out == nil {
		return []string{}
	}
	return out
}

// Has reports whether the reader holds a scope. A dashboard user's access is the
// dashboard's to decide: Has is about API tokens.
func (r Reader) Has(scope string) bool { return slices.Contains(r.Scopes, scope) }

package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"postfach/internal/store"
)

// ErrUnknownRecipient: the address is in a local domain but no account,
// alias or catch-all takes it (SMTP 550 5.1.1).
var ErrUnknownRecipient = errors.New("deliver: no such recipient")

// maxAliasDepth bounds alias chains (an alias naming an alias ...).
const maxAliasDepth = 10

// Directory is what address resolution needs of the store. When it also
// implements store.Aliases, aliases and catch-all addresses take part.
type Directory interface {
	Domains(ctx context.Context) ([]store.Domain, error)
	AccountByAddress(ctx context.Context, address string) (store.Account, error)
}

// ResolverOptions tune a Resolver.
type ResolverOptions struct {
	// SubaddressDelimiters are the characters that separate a local part
	// from its tag ("alice+news@"); "" turns subaddressing off.
	SubaddressDelimiters string
	// Postmaster takes mail for postmaster@ of any local domain that has
	// no account or alias of that name (RFC 5321 section 4.5.1: every
	// domain must accept it). "" turns the fallback off.
	Postmaster string
	Logger     *slog.Logger
}

// Resolver maps addresses to local accounts and forwarding targets. It is
// safe for concurrent use and reads the store on every call, so that
// accounts and aliases added by the admin commands count at once.
type Resolver struct {
	dir     Directory
	aliases store.Aliases // nil: the store has none
	opts    ResolverOptions
	log     *slog.Logger
}

// NewResolver returns a Resolver over dir.
func NewResolver(dir Directory, opts ResolverOptions) *Resolver {
	r := &Resolver{dir: dir, opts: opts, log: opts.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.aliases, _ = dir.(store.Aliases)
	return r
}

// Route is where mail for one address goes.
type Route struct {
	// Local is true when the address is in a local domain; Accounts and
	// Forward are then what it expands to (at least one of them is set).
	// When false, the address is elsewhere and both are empty.
	Local bool
	// Accounts are the local accounts that receive it, without
	// duplicates.
	Accounts []store.Account
	// Forward are addresses elsewhere that aliases send it on to, in
	// RFC 5321 Mailbox form.
	Forward []string
}

// LocalDomain reports whether domain (any case, U-labels or A-labels) is
// one of the store's, and returns the store's spelling of it.
func (r *Resolver) LocalDomain(ctx context.Context, domain string) (string, bool, error) {
	if strings.HasPrefix(domain, "[") {
		return "", false, nil // address literals are never ours
	}
	domains, err := r.dir.Domains(ctx)
	if err != nil {
		return "", false, err
	}
	want := asciiDomain(domain)
	for _, d := range domains {
		if d.Name == domain || asciiDomain(d.Name) == want {
			return d.Name, true, nil
		}
	}
	return "", false, nil
}

// Resolve expands an address: an account of that address, else an alias,
// else (with a subaddress) the account or alias of the base address,
// else the domain's catch-all, else (for postmaster) the postmaster. It
// returns ErrUnknownRecipient for a local address nothing takes, and a
// Route with Local false for an address elsewhere.
func (r *Resolver) Resolve(ctx context.Context, addr Address) (Route, error) {
	x := expansion{r: r, seenAccount: map[store.AccountID]bool{}, seenAddr: map[string]bool{}, seenForward: map[string]bool{}}
	local, err := x.resolve(ctx, addr, 0)
	if err != nil {
		return Route{}, err
	}
	if !local {
		return Route{}, nil
	}
	if len(x.route.Accounts) == 0 && len(x.route.Forward) == 0 {
		return Route{}, ErrUnknownRecipient
	}
	x.route.Local = true
	return x.route, nil
}

// expansion is one Resolve in progress.
type expansion struct {
	r           *Resolver
	route       Route
	seenAccount map[store.AccountID]bool
	seenAddr    map[string]bool
	seenForward map[string]bool
}

// resolve adds what addr expands to. It reports whether addr is local.
// Aliases may name unknown local addresses: those are skipped (logged),
// not errors, so that one stale target does not bounce the others.
func (x *expansion) resolve(ctx context.Context, addr Address, depth int) (bool, error) {
	domain, local, err := x.r.LocalDomain(ctx, addr.Domain)
	if err != nil {
		return false, err
	}
	if !local {
		if depth > 0 {
			f := addr.String()
			if !x.seenForward[strings.ToLower(f)] {
				x.seenForward[strings.ToLower(f)] = true
				x.route.Forward = append(x.route.Forward, f)
			}
		}
		return false, nil
	}
	lp := strings.ToLower(addr.Local)
	key := lp + "@" + domain
	if x.seenAddr[key] {
		return true, nil // an alias loop, or two paths to one address
	}
	x.seenAddr[key] = true
	if depth > maxAliasDepth {
		x.r.log.Warn("alias chain too deep; target skipped", "address", key)
		return true, nil
	}

	found, err := x.direct(ctx, key, depth)
	if err != nil || found {
		return true, err
	}
	if base, _, ok := SplitSubaddress(lp, x.r.opts.SubaddressDelimiters); ok {
		if found, err := x.direct(ctx, base+"@"+domain, depth); err != nil || found {
			return true, err
		}
	}
	if depth == 0 {
		// Only the address asked for falls back to the catch-all: an
		// alias target that does not exist is a mistake to log, not mail
		// for whoever takes the rest of the domain.
		if found, err := x.alias(ctx, "@"+domain, depth); err != nil || found {
			return true, err
		}
		if lp == "postmaster" && x.r.opts.Postmaster != "" {
			pm, err := ParseAddress(x.r.opts.Postmaster, true)
			if err == nil && pm.Key() != key {
				return x.resolve(ctx, pm, depth+1)
			}
		}
		return true, nil
	}
	x.r.log.Warn("alias target does not exist; skipped", "address", key)
	return true, nil
}

// direct adds the account of key, or else the expansion of its alias.
func (x *expansion) direct(ctx context.Context, key string, depth int) (bool, error) {
	acct, err := x.r.dir.AccountByAddress(ctx, key)
	switch {
	case err == nil:
		if !x.seenAccount[acct.ID] {
			x.seenAccount[acct.ID] = true
			x.route.Accounts = append(x.route.Accounts, acct)
		}
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	return x.alias(ctx, key, depth)
}

// alias adds the expansion of the alias of key, if there is one.
func (x *expansion) alias(ctx context.Context, key string, depth int) (bool, error) {
	if x.r.aliases == nil {
		return false, nil
	}
	a, err := x.r.aliases.Alias(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	for _, t := range a.Targets {
		ta, err := ParseAddress(t, true)
		if err != nil {
			x.r.log.Warn("alias target is not an address; skipped", "alias", a.Address, "target", t)
			continue
		}
		if _, err := x.resolve(ctx, ta, depth+1); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Owns reports whether the account may use addr as its sender address
// (MAIL FROM, From header field): its own address, an alias that names
// the account directly, or a subaddress of either. A catch-all does not
// make the whole domain the account's.
func (r *Resolver) Owns(ctx context.Context, acct store.Account, addr Address) (bool, error) {
	domain, local, err := r.LocalDomain(ctx, addr.Domain)
	if err != nil || !local {
		return false, err
	}
	lp := strings.ToLower(addr.Local)
	candidates := []string{lp + "@" + domain}
	if base, _, ok := SplitSubaddress(lp, r.opts.SubaddressDelimiters); ok {
		candidates = append(candidates, base+"@"+domain)
	}
	for _, c := range candidates {
		if c == acct.Address {
			return true, nil
		}
	}
	if r.aliases == nil {
		return false, nil
	}
	aliases, err := r.aliases.AliasesTo(ctx, acct.Address)
	if err != nil {
		return false, fmt.Errorf("deliver: aliases of %s: %w", acct.Address, err)
	}
	for _, a := range aliases {
		if a.IsCatchAll() {
			continue
		}
		for _, c := range candidates {
			if a.Address == c {
				return true, nil
			}
		}
	}
	return false, nil
}

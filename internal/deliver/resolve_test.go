package deliver

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
)

func TestResolve(t *testing.T) {
	ctx := context.Background()
	st := testStore(t, nil, "alice@example.org", "bob@example.org", "postmaster@example.org", "carol@example.net")
	if _, err := st.AddDomain(ctx, "bücher.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAccount(ctx, "jörg@bücher.example", ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		addr    string
		targets []string
	}{
		{"team@example.org", []string{"alice@example.org", "bob@example.org", "friend@elsewhere.test"}},
		{"all@example.org", []string{"team@example.org", "alice@example.org", "carol@example.net"}},
		{"loop1@example.org", []string{"loop2@example.org"}},
		{"loop2@example.org", []string{"loop1@example.org", "bob@example.org"}},
		{"stale@example.org", []string{"gone@example.org"}},
		{"@example.net", []string{"carol@example.net"}},
		{"sales@example.org", []string{"bob@example.org"}},
	} {
		if _, err := st.AddAlias(ctx, a.addr, a.targets); err != nil {
			t.Fatal(err)
		}
	}
	r := NewResolver(st, ResolverOptions{SubaddressDelimiters: "+", Postmaster: "postmaster@example.org"})

	for _, tc := range []struct {
		addr     string
		local    bool
		accounts []string
		forward  []string
		err      error
	}{
		{addr: "alice@example.org", local: true, accounts: []string{"alice@example.org"}},
		{addr: "ALICE@Example.ORG", local: true, accounts: []string{"alice@example.org"}},
		{addr: "alice+news@example.org", local: true, accounts: []string{"alice@example.org"}},
		{addr: "team@example.org", local: true, accounts: []string{"alice@example.org", "bob@example.org"}, forward: []string{"friend@elsewhere.test"}},
		{addr: "team+x@example.org", local: true, accounts: []string{"alice@example.org", "bob@example.org"}, forward: []string{"friend@elsewhere.test"}},
		{addr: "all@example.org", local: true, accounts: []string{"alice@example.org", "bob@example.org", "carol@example.net"}, forward: []string{"friend@elsewhere.test"}},
		{addr: "loop1@example.org", local: true, accounts: []string{"bob@example.org"}},
		{addr: "nobody@example.org", err: ErrUnknownRecipient},
		{addr: "nobody+x@example.org", err: ErrUnknownRecipient},
		{addr: "stale@example.org", err: ErrUnknownRecipient},
		{addr: "anything@example.net", local: true, accounts: []string{"carol@example.net"}},
		{addr: "Postmaster@example.net", local: true, accounts: []string{"carol@example.net"}}, // the catch-all first
		{addr: "jörg@xn--bcher-kva.example", local: true, accounts: []string{"jörg@bücher.example"}},
		{addr: "postmaster@bücher.example", local: true, accounts: []string{"postmaster@example.org"}},
		{addr: "someone@elsewhere.test", local: false},
		{addr: "x@[192.0.2.1]", local: false},
	} {
		a, err := ParseAddress(tc.addr, true)
		if err != nil {
			t.Fatal(err)
		}
		route, err := r.Resolve(ctx, a)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Resolve(%s) = %+v, %v; want %v", tc.addr, route, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%s): %v", tc.addr, err)
			continue
		}
		var got []string
		for _, acct := range route.Accounts {
			got = append(got, acct.Address)
		}
		sort.Strings(got)
		if route.Local != tc.local || !reflect.DeepEqual(got, tc.accounts) || !reflect.DeepEqual(route.Forward, tc.forward) {
			t.Errorf("Resolve(%s) = local %v, accounts %q, forward %q; want %v, %q, %q", tc.addr, route.Local, got, route.Forward, tc.local, tc.accounts, tc.forward)
		}
	}

	// Without subaddressing, a tag is part of the name.
	plain := NewResolver(st, ResolverOptions{})
	a, _ := ParseAddress("alice+news@example.org", false)
	if _, err := plain.Resolve(ctx, a); !errors.Is(err, ErrUnknownRecipient) {
		t.Errorf("without subaddressing: %v", err)
	}
}

func TestOwns(t *testing.T) {
	ctx := context.Background()
	st := testStore(t, nil, "alice@example.org", "bob@example.org")
	for _, a := range []struct {
		addr    string
		targets []string
	}{
		{"sales@example.org", []string{"alice@example.org", "bob@example.org"}},
		{"bobs@example.org", []string{"bob@example.org"}},
		{"@example.org", []string{"alice@example.org"}},
	} {
		if _, err := st.AddAlias(ctx, a.addr, a.targets); err != nil {
			t.Fatal(err)
		}
	}
	r := NewResolver(st, ResolverOptions{SubaddressDelimiters: "+"})
	alice := account(t, st, "alice@example.org")
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"alice@example.org", true},
		{"Alice@EXAMPLE.org", true},
		{"alice+lists@example.org", true},
		{"sales@example.org", true},
		{"sales+x@example.org", true},
		{"bob@example.org", false},
		{"bobs@example.org", false},
		{"random@example.org", false}, // a catch-all is not a licence
		{"alice@elsewhere.test", false},
	} {
		a, err := ParseAddress(tc.addr, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Owns(ctx, alice, a)
		if err != nil || got != tc.want {
			t.Errorf("Owns(alice, %s) = %v, %v; want %v", tc.addr, got, err, tc.want)
		}
	}
}

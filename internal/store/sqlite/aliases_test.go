package sqlite

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"postfach/internal/store"
)

func TestAliases(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	defer s.Close()
	for _, d := range []string{"example.org", "example.net"} {
		if _, err := s.AddDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddAccount(ctx, "alice@example.org", ""); err != nil {
		t.Fatal(err)
	}

	a, err := s.AddAlias(ctx, "Sales@Example.org", []string{"alice@example.org", "bob@elsewhere.test", "alice@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "sales@example.org" || !reflect.DeepEqual(a.Targets, []string{"alice@example.org", "bob@elsewhere.test"}) || a.Created.IsZero() {
		t.Fatalf("AddAlias = %+v", a)
	}
	// Adding targets extends the alias and keeps its creation time.
	a2, err := s.AddAlias(ctx, "sales@example.org", []string{"carol@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a2.Targets) != 3 || !a2.Created.Equal(a.Created) {
		t.Fatalf("second AddAlias = %+v", a2)
	}
	if _, err := s.AddAlias(ctx, "@example.net", []string{"alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Alias(ctx, "@EXAMPLE.net"); err != nil || !c.IsCatchAll() || c.Targets[0] != "alice@example.org" {
		t.Fatalf("catch-all: %+v, %v", c, err)
	}

	for _, tc := range []struct {
		addr    string
		targets []string
		want    error
	}{
		{"alice@example.org", []string{"x@example.org"}, store.ErrExists},
		{"x@nowhere.test", []string{"alice@example.org"}, store.ErrNotFound},
		{"loop@example.org", []string{"loop@example.org"}, store.ErrInvalidName},
		{"bad address@example.org", []string{"alice@example.org"}, store.ErrInvalidName},
		{"ok@example.org", []string{"not an address"}, store.ErrInvalidName},
		{"ok@example.org", nil, store.ErrInvalidName},
	} {
		if _, err := s.AddAlias(ctx, tc.addr, tc.targets); !errors.Is(err, tc.want) {
			t.Errorf("AddAlias(%q, %q) = %v, want %v", tc.addr, tc.targets, err, tc.want)
		}
	}

	list, err := s.AliasList(ctx, "example.org")
	if err != nil || len(list) != 1 || list[0].Address != "sales@example.org" {
		t.Fatalf("AliasList(example.org) = %+v, %v", list, err)
	}
	if all, err := s.AliasList(ctx, ""); err != nil || len(all) != 2 {
		t.Fatalf("AliasList() = %+v, %v", all, err)
	}
	to, err := s.AliasesTo(ctx, "ALICE@example.org")
	if err != nil || len(to) != 2 || to[0].Address != "@example.net" || len(to[1].Targets) != 3 {
		t.Fatalf("AliasesTo = %+v, %v", to, err)
	}

	// Removing targets one by one; the last takes the alias with it.
	if err := s.RemoveAlias(ctx, "sales@example.org", []string{"nobody@example.org"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing an absent target: %v", err)
	}
	if err := s.RemoveAlias(ctx, "sales@example.org", []string{"bob@elsewhere.test", "carol@example.org"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Alias(ctx, "sales@example.org"); !reflect.DeepEqual(a.Targets, []string{"alice@example.org"}) {
		t.Fatalf("after removing targets: %+v", a)
	}
	if err := s.RemoveAlias(ctx, "sales@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Alias(ctx, "sales@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed alias: %v", err)
	}
	if err := s.RemoveAlias(ctx, "sales@example.org", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing it twice: %v", err)
	}

	// A domain without accounts goes with its aliases.
	if err := s.RemoveDomain(ctx, "example.net"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Alias(ctx, "@example.net"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("catch-all of a removed domain: %v", err)
	}
}

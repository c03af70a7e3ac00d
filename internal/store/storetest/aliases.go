package storetest

import (
	"errors"
	"reflect"
	"testing"

	"postfach/internal/store"
)

// RunAliases runs the conformance checks of store.Aliases; open returns a
// new, empty store for each subtest, which must implement it.
func RunAliases(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(e *env, al store.Aliases)
	}{
		{"AddAndList", testAliasAdd},
		{"Refused", testAliasRefused},
		{"Remove", testAliasRemove},
		{"GoWithDomain", testAliasDomain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, open)
			al, ok := e.s.(store.Aliases)
			if !ok {
				t.Fatal("the store does not implement store.Aliases")
			}
			tc.fn(e, al)
		})
	}
}

func testAliasAdd(e *env, al store.Aliases) {
	e.account("alice@example.org")
	e.ensureDomain("example.net")
	a, err := al.AddAlias(e.ctx, "Sales@Example.org", []string{"alice@example.org", "bob@elsewhere.test", "ALICE@example.org"})
	if err != nil {
		e.t.Fatal(err)
	}
	if a.Address != "sales@example.org" || !reflect.DeepEqual(a.Targets, []string{"alice@example.org", "bob@elsewhere.test"}) || a.Created.IsZero() {
		e.t.Fatalf("AddAlias = %+v", a)
	}
	// More targets extend the alias; its creation time stays.
	a2, err := al.AddAlias(e.ctx, "sales@example.org", []string{"carol@example.org"})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(a2.Targets) != 3 || !a2.Created.Equal(a.Created) {
		e.t.Fatalf("second AddAlias = %+v", a2)
	}
	if _, err := al.AddAlias(e.ctx, "@example.net", []string{"alice@example.org"}); err != nil {
		e.t.Fatal(err)
	}
	c, err := al.Alias(e.ctx, "@EXAMPLE.net")
	if err != nil || !c.IsCatchAll() || !reflect.DeepEqual(c.Targets, []string{"alice@example.org"}) {
		e.t.Fatalf("catch-all: %+v, %v", c, err)
	}
	if list, err := al.AliasList(e.ctx, "example.org"); err != nil || len(list) != 1 || list[0].Address != "sales@example.org" {
		e.t.Fatalf("AliasList(example.org) = %+v, %v", list, err)
	}
	if list, err := al.AliasList(e.ctx, ""); err != nil || len(list) != 2 || list[0].Address != "@example.net" {
		e.t.Fatalf("AliasList() = %+v, %v", list, err)
	}
	to, err := al.AliasesTo(e.ctx, "ALICE@example.org")
	if err != nil || len(to) != 2 || to[0].Address != "@example.net" || len(to[1].Targets) != 3 {
		e.t.Fatalf("AliasesTo = %+v, %v", to, err)
	}
	if to, err := al.AliasesTo(e.ctx, "nobody@example.org"); err != nil || len(to) != 0 {
		e.t.Fatalf("AliasesTo(nobody) = %+v, %v", to, err)
	}
}

func testAliasRefused(e *env, al store.Aliases) {
	e.account("alice@example.org")
	for _, tc := range []struct {
		addr    string
		targets []string
		want    error
	}{
		{"alice@example.org", []string{"x@example.org"}, store.ErrExists},
		{"x@nowhere.test", []string{"alice@example.org"}, store.ErrNotFound},
		{"@nowhere.test", []string{"alice@example.org"}, store.ErrNotFound},
		{"loop@example.org", []string{"loop@example.org"}, store.ErrInvalidName},
		{"bad address@example.org", []string{"alice@example.org"}, store.ErrInvalidName},
		{"ok@example.org", []string{"not an address"}, store.ErrInvalidName},
		{"ok@example.org", nil, store.ErrInvalidName},
	} {
		if _, err := al.AddAlias(e.ctx, tc.addr, tc.targets); !errors.Is(err, tc.want) {
			e.t.Errorf("AddAlias(%q, %q) = %v, want %v", tc.addr, tc.targets, err, tc.want)
		}
	}
	if _, err := al.Alias(e.ctx, "ok@example.org"); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("a refused alias exists: %v", err)
	}
}

func testAliasRemove(e *env, al store.Aliases) {
	e.ensureDomain("example.org")
	if _, err := al.AddAlias(e.ctx, "sales@example.org", []string{"a@example.org", "b@example.org", "c@example.org"}); err != nil {
		e.t.Fatal(err)
	}
	if err := al.RemoveAlias(e.ctx, "sales@example.org", []string{"nobody@example.org"}); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("removing an absent target: %v", err)
	}
	if err := al.RemoveAlias(e.ctx, "sales@example.org", []string{"B@example.org", "c@example.org"}); err != nil {
		e.t.Fatal(err)
	}
	if a, err := al.Alias(e.ctx, "sales@example.org"); err != nil || !reflect.DeepEqual(a.Targets, []string{"a@example.org"}) {
		e.t.Fatalf("after removing targets: %+v, %v", a, err)
	}
	// The last target takes the alias with it.
	if err := al.RemoveAlias(e.ctx, "sales@example.org", []string{"a@example.org"}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := al.Alias(e.ctx, "sales@example.org"); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("alias without targets: %v", err)
	}
	if _, err := al.AddAlias(e.ctx, "all@example.org", []string{"a@example.org", "b@example.org"}); err != nil {
		e.t.Fatal(err)
	}
	if err := al.RemoveAlias(e.ctx, "all@example.org", nil); err != nil {
		e.t.Fatal(err)
	}
	if err := al.RemoveAlias(e.ctx, "all@example.org", nil); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("removing it twice: %v", err)
	}
}

func testAliasDomain(e *env, al store.Aliases) {
	e.ensureDomain("example.net")
	if _, err := al.AddAlias(e.ctx, "@example.net", []string{"x@example.org"}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.RemoveDomain(e.ctx, "example.net"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := al.Alias(e.ctx, "@example.net"); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("catch-all of a removed domain: %v", err)
	}
}

// ensureDomain adds a domain unless the store has it.
func (e *env) ensureDomain(name string) {
	e.t.Helper()
	if _, err := e.s.AddDomain(e.ctx, name); err != nil && !errors.Is(err, store.ErrExists) {
		e.t.Fatalf("AddDomain(%s): %v", name, err)
	}
}

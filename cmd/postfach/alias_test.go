package main

import "testing"

func TestAlias(t *testing.T) {
	cfg := testConfig(t)
	c := []string{"--config", cfg}
	run := func(args ...string) result {
		t.Helper()
		return postfach(t, nil, "", append(args, c...)...)
	}
	run("domain", "add", "example.org").expect(t, 0)
	run("domain", "add", "example.net").expect(t, 0)
	run("alias", "list").expect(t, 0)
	postfach(t, nil, "a long enough passphrase\n", append([]string{"user", "add", "alice@example.org"}, c...)...).expect(t, 0)

	run("alias", "add", "Sales@Example.ORG", "alice@example.org", "Bob@Elsewhere.test").
		expect(t, 0, "out:sales@example.org -> alice@example.org, bob@elsewhere.test")
	run("alias", "add", "sales@example.org", "carol@example.org").
		expect(t, 0, "out:sales@example.org -> alice@example.org, bob@elsewhere.test, carol@example.org")
	run("alias", "add", "@example.net", "alice@example.org").expect(t, 0, "out:@example.net -> alice@example.org")
	run("alias", "add", "x@nowhere.test", "alice@example.org").expect(t, 1, "err:domain nowhere.test does not exist")
	run("alias", "add", "alice@example.org", "carol@example.org").expect(t, 1, "err:alice@example.org is an account")
	run("alias", "add", "loop@example.org", "loop@example.org").expect(t, 1, "err:invalid alias")
	run("alias", "add", "sales", "alice@example.org").expect(t, 2, "err:not a full address")
	run("alias", "add", "sales@example.org").expect(t, 2, "err:missing")

	if r := run("alias", "list"); r.stdout != "@example.net -> alice@example.org\nsales@example.org -> alice@example.org, bob@elsewhere.test, carol@example.org\n" {
		t.Errorf("alias list = %q", r.stdout)
	}
	if r := run("alias", "list", "example.net"); r.stdout != "@example.net -> alice@example.org\n" {
		t.Errorf("alias list example.net = %q", r.stdout)
	}
	run("alias", "list", "nowhere.test").expect(t, 1, "err:domain nowhere.test does not exist")

	run("alias", "remove", "sales@example.org", "nobody@example.org").expect(t, 1, "err:has none of those targets")
	run("alias", "remove", "sales@example.org", "bob@elsewhere.test").expect(t, 0, "out:removed bob@elsewhere.test from alias sales@example.org")
	run("alias", "remove", "sales@example.org").expect(t, 0, "out:removed alias sales@example.org")
	run("alias", "remove", "sales@example.org").expect(t, 1, "err:alias sales@example.org does not exist")
	if r := run("alias", "list"); r.stdout != "@example.net -> alice@example.org\n" {
		t.Errorf("alias list after removal = %q", r.stdout)
	}
}

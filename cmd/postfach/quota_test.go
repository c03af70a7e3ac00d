package main

import "testing"

func TestUserQuota(t *testing.T) {
	cfg := testConfig(t)
	run := func(args ...string) result {
		t.Helper()
		return postfach(t, nil, "correct horse battery staple\n", append(args, "--config", cfg)...)
	}
	run("domain", "add", "example.org").expect(t, 0)
	run("user", "add", "alice@example.org").expect(t, 0)
	run("user", "quota", "alice@example.org").expect(t, 0, "out:storage:  0 used of unlimited", "out:messages: 0 of unlimited")
	run("user", "quota", "alice@example.org", "--storage", "2GiB", "--messages", "1000").expect(t, 0, "out:of 2GiB", "out:0 of 1000")
	// A flag left out keeps its limit.
	run("user", "quota", "alice@example.org", "--messages", "0").expect(t, 0, "out:of 2GiB", "out:0 of unlimited")
	run("user", "quota", "alice@example.org", "--storage", "lots").expect(t, 2, "err:--storage")
	run("user", "quota", "alice@example.org", "--messages", "-3").expect(t, 2, "err:--messages")
	run("user", "quota", "nobody@example.org").expect(t, 1, "err:account nobody@example.org does not exist")
}

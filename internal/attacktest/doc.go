// Package attacktest attacks a complete postfach server the way a
// password-guessing botnet would, over IMAP, POP3 and SMTP submission
// from many loopback addresses, and checks the login guard's promises:
// no guess succeeds, the attackers end up banned, the owner keeps
// logging in from her usual address without delay, and an unknown user
// costs what a wrong password costs. It holds tests only.
package attacktest

package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"

	"postfach/internal/config"
	"postfach/internal/store"
)

// userQuotaCommand shows or sets an account's quota (RFC 9208 STORAGE
// and MESSAGE): IMAP APPEND over it gets NO [OVERQUOTA], SMTP delivery
// 552 5.2.2.
func userQuotaCommand() *command {
	var storage, messages string
	return &command{
		name:    "user quota",
		args:    "ADDRESS",
		summary: "show or set an account's storage and message limits",
		help: `Without flags, shows the account's limits and usage. With flags, sets them:
  --storage SIZE   total size of the account's messages, e.g. 2GiB, 500MB; 0 = unlimited
  --messages N     number of messages; 0 = unlimited
A flag left out keeps its current limit. Mail clients see the quota through
IMAP GETQUOTAROOT; mail over it is refused (IMAP NO [OVERQUOTA], SMTP 552).`,
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&storage, "storage", "", "")
			fs.StringVar(&messages, "messages", "", "")
		},
		run: func(a *app, configPath string, args []string) error {
			ad, address, _, err := a.openForAddress(configPath, args[0], existingData)
			if err != nil {
				return err
			}
			defer ad.close()
			acct, err := ad.store.AccountByAddress(a.ctx, address)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("account %s does not exist", address)
			} else if err != nil {
				return err
			}
			mail := ad.store.Mail(acct.ID)
			u, err := mail.Quota(a.ctx)
			if err != nil {
				return err
			}
			if storage != "" || messages != "" {
				q := u.Quota
				if storage != "" {
					n, err := config.ParseByteSize(storage)
					if err != nil {
						return usagef("--storage: %v", err)
					}
					q.StorageBytes = int64(n)
				}
				if messages != "" {
					n, err := strconv.ParseInt(messages, 10, 64)
					if err != nil || n < 0 {
						return usagef("--messages: want a number of messages, 0 for unlimited")
					}
					q.Messages = n
				}
				if err := ad.store.SetQuota(a.ctx, address, q); err != nil {
					return err
				}
				if u, err = mail.Quota(a.ctx); err != nil {
					return err
				}
			}
			limit := func(n int64, f func(int64) string) string {
				if n == 0 {
					return "unlimited"
				}
				return f(n)
			}
			bytes := func(n int64) string { return config.ByteSize(n).String() }
			count := func(n int64) string { return strconv.FormatInt(n, 10) }
			fmt.Fprintf(a.stdout, "%s\n  storage:  %s used of %s\n  messages: %d of %s\n",
				address, bytes(u.UsedBytes), limit(u.StorageBytes, bytes), u.UsedMessages, limit(u.Messages, count))
			return ad.close()
		},
	}
}
